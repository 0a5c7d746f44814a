package auto

import (
	"flag"
	"slices"
	"testing"
)

// TestFlagsAreParsesOwn holds the ordered lists of flags that usage and
// completion give, and the switches, to the flags Parse takes: each play
// lists every flag of its set and no other, and a switch is one that
// takes no value.
func TestFlagsAreParsesOwn(t *testing.T) {
	for _, play := range Plays {
		fs, _ := (&Plan{Play: play}).flagSet()
		var defined []string
		fs.VisitAll(func(f *flag.Flag) { defined = append(defined, "--"+f.Name) })
		listed := slices.Sorted(slices.Values(Flags[play]))
		if !slices.Equal(listed, defined) {
			t.Errorf("auto %s: Flags lists %v, Parse takes %v", play, listed, defined)
		}
		for _, name := range defined {
			_, err := Parse([]string{play, name})
			if takesNone := err == nil; takesNone != slices.Contains(Switches, name) {
				t.Errorf("auto %s %s alone: Parse says %v, Switches has it: %v", play, name, err, slices.Contains(Switches, name))
			}
		}
	}
}
