package chart

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

func TestWriteSVGIsWellFormedAndHasEverySeries(t *testing.T) {
	c := Chart{
		Title:  "ack latency <by rate>",
		XLabel: "offered rate (messages/s)",
		YLabel: "ms",
		LogY:   true,
		Series: []Series{
			{Name: "p50", Points: []Point{{1000, 0.8}, {2000, 1.1}, {4000, 3}}},
			{Name: "p99", Points: []Point{{1000, 2}, {2000, 4.5}, {4000, 40}}},
			{Name: "p999", Points: []Point{{1000, 5}, {2000, 9}, {4000, 0}}},
		},
	}
	var buf bytes.Buffer
	if err := c.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	polylines, circles := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("not well-formed XML: %v\n%s", err, buf.String())
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "polyline":
				polylines++
			case "circle":
				circles++
			}
		}
	}
	if polylines != 3 || circles != 9 {
		t.Fatalf("%d lines and %d points, want 3 and 9", polylines, circles)
	}
	for _, want := range []string{"p50", "p999", "&lt;by rate&gt;", ">1000<", ">0.1<", ">100<"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	got := niceTicks(0, 4000)
	want := []float64{0, 1000, 2000, 3000, 4000}
	if len(got) != len(want) {
		t.Fatalf("ticks %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ticks %v, want %v", got, want)
		}
	}
	if got := niceTicks(0, 7); got[len(got)-1] < 7 {
		t.Fatalf("ticks %v do not reach 7", got)
	}
}
