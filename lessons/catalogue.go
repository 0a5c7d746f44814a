package lessons

import (
	"embed"
	"errors"
	"io/fs"
)

// files are the lesson files, in the order of their names.
//
//go:embed *.lesson
var files embed.FS

// catalogue is every lesson, parsed once at start-up. A file that does not
// parse leaves catalogueErr naming it and its line, which Attach returns
// and the tests report.
var catalogue, catalogueErr = load(files)

// load parses every *.lesson file of fsys, in the order of their names.
func load(fsys fs.FS) ([]*Lesson, error) {
	names, err := fs.Glob(fsys, "*.lesson")
	if err != nil {
		return nil, err
	}
	var all []*Lesson
	var errs []error
	for _, name := range names {
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l, err := Parse(name, string(text))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		all = append(all, l)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(all) == 0 {
		return nil, errors.New("lessons: no *.lesson file")
	}
	return all, nil
}
