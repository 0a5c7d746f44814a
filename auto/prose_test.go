package auto

import (
	"os"
	"regexp"
	"testing"
)

// proseData is what each section of auto.txt is given by the code that
// renders it.
var proseData = map[string]any{
	"server intro":         serverIntro{},
	"client intro":         clientIntro{},
	"client intro no wait": clientIntro{},
	"demo intro":           serverIntro{},
	"idle":                 droppedPeer{},
	"silent close":         droppedPeer{},
	"not text":             notText{},
	"cut text":             cutText{},
	"reset":                droppedPeer{},
	"lost":                 droppedPeer{},
	"no greeting":          greetingLost{},
	"no greeting closed":   greetingLost{},
	"client lost":          greetingLost{},
	"web client":           webClient{},
	"stranger":             stranger{},
	"pause":                pauseLine{},
	"pause short":          pauseLine{},
	"summary":              Summary{},
}

// TestProseCompiledAsTextTemplate renders every section of auto.txt with
// hundreds of values of its data, compiled and through text/template, and
// wants the same text each time. The sections a server renders for each
// client it drops, and the summary, must be compiled.
func TestProseCompiledAsTextTemplate(t *testing.T) {
	text, err := os.ReadFile("auto.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^\[(.+)\]$`).FindAllStringSubmatch(string(text), -1) {
		if _, known := proseData[m[1]]; !known && m[1] != "about" {
			t.Errorf("auto.txt has a section [%s] that this test does not know: add its data to proseData", m[1])
		}
	}
	for section, data := range proseData {
		compiled, err := prose.CheckCompiled(section, data, 300)
		if err != nil {
			t.Error(err)
		}
		switch section {
		case "idle", "silent close", "reset", "lost", "summary":
			if !compiled {
				t.Errorf("auto.txt [%s] is not compiled, and a server renders it for many clients", section)
			}
		}
	}
}
