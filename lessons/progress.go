package lessons

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"sockstep/steps"
)

// ProgressFile is where a learner's progress is kept: the user's config
// directory (on Linux $XDG_CONFIG_HOME/sockstep/progress.json, by default
// ~/.config/sockstep/progress.json), or "" when there is none.
func ProgressFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "sockstep", "progress.json")
}

// progress is what the learner has done, lesson by lesson, keyed by the
// lesson's file name so that adding a lesson does not shift the others.
type progress struct {
	file    string                     // "" keeps progress for this run only
	Lessons map[string]*lessonProgress `json:"lessons"`
}

type lessonProgress struct {
	Completed bool `json:"completed,omitempty"` // reached the end with every step done
	Reached   int  `json:"reached"`             // the most steps done in one go
}

// maxProgress bounds what is read of the progress file: one holds a line
// or two for each lesson, well under a kilobyte, and a file that is far
// larger (or a device, such as /dev/zero, that never ends) is not one.
const maxProgress = 64 << 10

// loadProgress reads the progress file. A missing file is no progress; a
// file that cannot be read is replaced on the next save, and the error
// says so.
func loadProgress(file string) (*progress, error) {
	p := &progress{file: file, Lessons: map[string]*lessonProgress{}}
	if file == "" {
		return p, nil
	}
	data, err := readProgress(file)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err == nil {
		err = json.Unmarshal(data, p)
	}
	if err != nil || p.Lessons == nil {
		p.Lessons = map[string]*lessonProgress{}
	}
	if err != nil {
		then := ", and starting a lesson writes a new file in its place"
		if errors.Is(err, errIsDir) {
			then = "" // a file cannot replace a directory: saving fails too, and says so
		}
		return p, fmt.Errorf("could not read your progress from %s (%s): it starts afresh%s",
			steps.Printable([]byte(file)), steps.Printable([]byte(err.Error())), then)
	}
	return p, nil
}

// readProgress reads the file, if it is a regular file of at most
// maxProgress bytes. Its errors leave out the file's name.
func readProgress(file string) ([]byte, error) {
	info, err := os.Stat(file)
	if err != nil {
		return nil, unwrapPath(err)
	}
	switch {
	case info.IsDir():
		return nil, errIsDir
	case !info.Mode().IsRegular():
		return nil, errors.New("it is not a regular file")
	case info.Size() > maxProgress:
		return nil, fmt.Errorf("it holds %d bytes, more than the %d a progress file may", info.Size(), maxProgress)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxProgress+1))
	if err == nil && len(data) > maxProgress {
		err = fmt.Errorf("it holds more than the %d bytes a progress file may", maxProgress)
	}
	return data, unwrapPath(err)
}

// errIsDir is readProgress's error for a directory where the file should be.
var errIsDir = errors.New("it is a directory")

// unwrapPath leaves out the file's name from an error of the os package.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// merge takes in other's progress: a lesson done in either is done, and
// the most steps reached in either are reached.
func (p *progress) merge(other *progress) {
	for id, o := range other.Lessons {
		if o == nil {
			continue
		}
		lp := p.of(id)
		lp.Completed = lp.Completed || o.Completed
		lp.Reached = max(lp.Reached, o.Reached)
	}
}

func (p *progress) of(id string) *lessonProgress {
	lp := p.Lessons[id]
	if lp == nil {
		lp = &lessonProgress{}
		p.Lessons[id] = lp
	}
	return lp
}

// save writes the progress file, readable by the user alone: a new file
// beside it, renamed over it, so a crash never leaves half a file. It
// first takes in what the file holds now, so that the progress another
// sockstep of the same user (in another terminal) saved since this one
// read it is kept, not written over.
func (p *progress) save() error {
	if p.file == "" {
		return nil
	}
	if saved, err := loadProgress(p.file); err == nil {
		p.merge(saved)
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(p.file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".progress-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p.file)
	}
	return err
}
