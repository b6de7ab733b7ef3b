package chart

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Point is one value of a series.
type Point struct {
	X, Y float64
}

// Series is one line of a chart.
type Series struct {
	Name   string
	Points []Point
}

// Chart is a line chart with a linear X axis starting at zero and a linear
// or logarithmic Y axis.
type Chart struct {
	Title  string
	XLabel string
	YLabel string
	// LogY draws the Y axis in decades, for values that span orders of
	// magnitude such as latency percentiles. Values at or below zero are
	// drawn at the bottom of the axis.
	LogY   bool
	Series []Series
}

// Drawing geometry, in SVG user units.
const (
	width        = 860
	height       = 500
	marginLeft   = 80
	marginRight  = 180 // room for the legend
	marginTop    = 50
	marginBottom = 60
	plotWidth    = width - marginLeft - marginRight
	plotHeight   = height - marginTop - marginBottom
)

// palette colours the series in order.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

// WriteSVG writes the chart as a standalone SVG document.
func (c *Chart) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	xMax := 0.0
	yMin, yMax := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			xMax = math.Max(xMax, p.X)
			if !c.LogY || p.Y > 0 {
				yMin, yMax = math.Min(yMin, p.Y), math.Max(yMax, p.Y)
			}
		}
	}
	if math.IsInf(yMin, 1) { // no values
		yMin, yMax = 0, 1
	}
	xTicks := niceTicks(0, xMax)
	xHi := xTicks[len(xTicks)-1]
	var yTicks []float64
	var yScale func(float64) float64
	if c.LogY {
		lo := math.Pow(10, math.Floor(math.Log10(yMin)))
		hi := math.Pow(10, math.Ceil(math.Log10(yMax)))
		if hi <= lo {
			hi = lo * 10
		}
		for v := lo; v <= hi*1.0001; v *= 10 {
			yTicks = append(yTicks, v)
		}
		yScale = func(v float64) float64 {
			if v < lo {
				v = lo
			}
			return marginTop + plotHeight*(1-(math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo)))
		}
	} else {
		yTicks = niceTicks(0, yMax)
		yHi := yTicks[len(yTicks)-1]
		yScale = func(v float64) float64 { return marginTop + plotHeight*(1-v/yHi) }
	}
	xScale := func(v float64) float64 { return marginLeft + plotWidth*v/xHi }

	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(bw, `<text x="%d" y="28" font-size="16" text-anchor="middle">%s</text>`+"\n", marginLeft+plotWidth/2, esc(c.Title))
	// Grid and tick labels.
	for _, v := range xTicks {
		x := xScale(v)
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x, marginTop, x, marginTop+plotHeight)
		fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, marginTop+plotHeight+18, label(v))
	}
	for _, v := range yTicks {
		y := yScale(v)
		fmt.Fprintf(bw, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", marginLeft, y, marginLeft+plotWidth, y)
		fmt.Fprintf(bw, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", marginLeft-6, y+4, label(v))
	}
	fmt.Fprintf(bw, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>`+"\n", marginLeft, marginTop, plotWidth, plotHeight)
	fmt.Fprintf(bw, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", marginLeft+plotWidth/2, height-14, esc(c.XLabel))
	fmt.Fprintf(bw, `<text x="18" y="%d" text-anchor="middle" transform="rotate(-90 18 %d)">%s</text>`+"\n", marginTop+plotHeight/2, marginTop+plotHeight/2, esc(c.YLabel))
	// Lines, points and the legend.
	for i, s := range c.Series {
		colour := palette[i%len(palette)]
		var pts []string
		for _, p := range s.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xScale(p.X), yScale(p.Y)))
		}
		fmt.Fprintf(bw, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colour, strings.Join(pts, " "))
		for _, p := range s.Points {
			fmt.Fprintf(bw, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %s at %s</title></circle>`+"\n",
				xScale(p.X), yScale(p.Y), colour, esc(s.Name), label(p.Y), label(p.X))
		}
		ly := marginTop + 10 + 22*i
		fmt.Fprintf(bw, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", marginLeft+plotWidth+16, ly, marginLeft+plotWidth+40, ly, colour)
		fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text>`+"\n", marginLeft+plotWidth+46, ly+4, esc(s.Name))
	}
	fmt.Fprintln(bw, `</svg>`)
	return bw.Flush()
}

// niceTicks returns evenly spaced round values from lo up to at least hi,
// about five intervals.
func niceTicks(lo, hi float64) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []float64
	for v := lo; ; v += step {
		ticks = append(ticks, v)
		if v >= hi-step*1e-9 {
			return ticks
		}
	}
}

// label formats an axis value briefly: 2500 as "2500", 0.05 as "0.05".
func label(v float64) string {
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
