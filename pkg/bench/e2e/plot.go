package e2e

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// minPlotMs keeps freshness points on a log axis.
const minPlotMs = 0.1

var (
	colAck    = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colSQL    = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colRedis  = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	colRef    = color.RGBA{R: 0x88, G: 0x88, B: 0x88, A: 0xff}
	colLimit  = color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}
	dashed    = []vg.Length{vg.Points(6), vg.Points(4)}
	dotted    = []vg.Length{vg.Points(2), vg.Points(3)}
	lineWidth = vg.Points(1.5)
)

// WritePlot draws throughput and freshness against offered load (the paced
// runs) as a PNG at path: above, acks/s and rows/s reaching SQL with the
// maximal run and the raw upsert limit for reference; below, the p50 and
// p99 time from ack until visible in SQL and in Redis, on a log axis, with
// the p99 targets.
func WritePlot(r *Report, path string) error {
	if len(r.Levels) == 0 {
		return fmt.Errorf("e2e: plot: no paced runs")
	}
	top, err := throughputPlot(r)
	if err != nil {
		return err
	}
	bottom, err := freshnessPlot(r)
	if err != nil {
		return err
	}
	img := vgimg.New(vg.Points(720), vg.Points(820))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(8), PadBottom: vg.Points(8), PadLeft: vg.Points(8),
		PadRight: vg.Points(12), PadY: vg.Points(16)}
	plots := [][]*plot.Plot{{top}, {bottom}}
	canvases := plot.Align(plots, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("e2e: plot: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("e2e: plot: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("e2e: plot: %w", err)
	}
	return f.Close()
}

func throughputPlot(r *Report) (*plot.Plot, error) {
	p := plot.New()
	commit := r.Machine.Commit
	if len(commit) > 10 {
		commit = commit[:10]
	}
	p.Title.Text = fmt.Sprintf("Syncline end to end: %d CPUs, %d writer(s), durability %s, commit %s, load avg %s",
		r.Machine.NProc, r.Settings.Writers, r.Settings.Durability, commit, r.Machine.LoadStart)
	p.Title.TextStyle.Font.Size = vg.Points(10)
	p.X.Label.Text = "offered load (puts/s)"
	p.Y.Label.Text = "per second"
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())

	var ack, sql plotter.XYs
	maxOffered := 0.0
	for _, ph := range r.Levels {
		x := ph.Result.OfferedRate
		maxOffered = math.Max(maxOffered, x)
		ack = append(ack, plotter.XY{X: x, Y: ph.Result.Throughput})
		sql = append(sql, plotter.XY{X: x, Y: ph.Result.SQLRowsPerS})
	}
	if err := addLine(p, "offered (y = x)", plotter.XYs{{X: 0, Y: 0}, {X: maxOffered, Y: maxOffered}}, colRef, dotted, false); err != nil {
		return nil, err
	}
	if err := addLine(p, "acknowledged puts/s", ack, colAck, nil, true); err != nil {
		return nil, err
	}
	if err := addLine(p, "rows/s reaching SQL", sql, colSQL, nil, true); err != nil {
		return nil, err
	}
	horiz := func(name string, y float64, c color.Color) error {
		return addLine(p, name, plotter.XYs{{X: 0, Y: y}, {X: maxOffered, Y: y}}, c, dashed, false)
	}
	if err := horiz(fmt.Sprintf("maximal run, SQL rows/s (%s)", thousands(r.Max.Result.SQLRowsPerS)), r.Max.Result.SQLRowsPerS, colSQL); err != nil {
		return nil, err
	}
	if up := r.Limits.Upsert.PerSecond; up > 0 {
		if err := horiz(fmt.Sprintf("60%% of the raw upsert limit (%s)", thousands(TargetVsUpsert*up)), TargetVsUpsert*up, colLimit); err != nil {
			return nil, err
		}
	}
	p.Y.Min, p.X.Min = 0, 0
	p.Y.Max *= 1.35 // room for the legend
	p.X.Tick.Marker = thousandsTicks{}
	p.Y.Tick.Marker = thousandsTicks{}
	return p, nil
}

// thousandsTicks are the default ticks labelled 12,500 instead of 12500.00.
type thousandsTicks struct{}

func (thousandsTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = thousands(ts[i].Value)
		}
	}
	return ts
}

// logTicks label 1, 2 and 5 times each power of ten, with minor ticks
// between.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		base := math.Pow(10, e)
		for m := 1.0; m < 10; m++ {
			v := m * base
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'f', -1, 64)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

func freshnessPlot(r *Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "time from ack until visible (ms, log scale)"
	p.Title.TextStyle.Font.Size = vg.Points(10)
	p.X.Label.Text = "offered load (puts/s)"
	p.Y.Label.Text = "ms"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())

	var sql50, sql99, red50, red99 plotter.XYs
	maxOffered := 0.0
	for _, ph := range r.Levels {
		x := ph.Result.OfferedRate
		maxOffered = math.Max(maxOffered, x)
		sql50 = append(sql50, plotter.XY{X: x, Y: math.Max(minPlotMs, ph.Result.SQLVisible.P50)})
		sql99 = append(sql99, plotter.XY{X: x, Y: math.Max(minPlotMs, ph.Result.SQLVisible.P99)})
		if red := ph.Result.RedisVisible; red != nil && red.N > 0 {
			red50 = append(red50, plotter.XY{X: x, Y: math.Max(minPlotMs, red.P50)})
			red99 = append(red99, plotter.XY{X: x, Y: math.Max(minPlotMs, red.P99)})
		}
	}
	lines := []struct {
		name string
		xy   plotter.XYs
		c    color.Color
		dash []vg.Length
	}{
		{"SQL p50", sql50, colSQL, dotted},
		{"SQL p99", sql99, colSQL, nil},
		{"Redis p50", red50, colRedis, dotted},
		{"Redis p99", red99, colRedis, nil},
	}
	for _, l := range lines {
		if len(l.xy) == 0 {
			continue
		}
		if err := addLine(p, l.name, l.xy, l.c, l.dash, true); err != nil {
			return nil, err
		}
	}
	for _, t := range []struct {
		name string
		y    float64
		c    color.Color
	}{{"SQL p99 target", TargetSQLP99Ms, colSQL}, {"Redis p99 target", TargetRedisP99Ms, colRedis}} {
		if err := addLine(p, fmt.Sprintf("%s (%.0f ms)", t.name, t.y), plotter.XYs{{X: 0, Y: t.y}, {X: maxOffered, Y: t.y}}, t.c, dashed, false); err != nil {
			return nil, err
		}
	}
	p.X.Min = 0
	p.X.Tick.Marker = thousandsTicks{}
	p.Y.Max *= 4 // room for the legend
	return p, nil
}

// addLine adds a line (with point markers when points) and its legend entry.
func addLine(p *plot.Plot, name string, xy plotter.XYs, c color.Color, dash []vg.Length, points bool) error {
	if points {
		l, s, err := plotter.NewLinePoints(xy)
		if err != nil {
			return fmt.Errorf("e2e: plot %s: %w", name, err)
		}
		l.Color, l.Width, l.Dashes = c, lineWidth, dash
		s.Color, s.Shape = c, draw.CircleGlyph{}
		p.Add(l, s)
		p.Legend.Add(name, l, s)
		return nil
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return fmt.Errorf("e2e: plot %s: %w", name, err)
	}
	l.Color, l.Width, l.Dashes = c, lineWidth, dash
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}
