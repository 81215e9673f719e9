package main

import (
	"image/color"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// writeChart draws, for each mix, the number of ready services over time for the floor
// (dashed) and for kubeship (solid).
func writeChart(path string, mixes []*mixResult) error {
	p := plot.New()
	p.Title.Text = "Ready services over time: kubeship and the floor"
	p.X.Label.Text = "seconds since the first create"
	p.Y.Label.Text = "services ready"
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = false, false
	colors := []color.RGBA{{R: 31, G: 119, B: 180, A: 255}, {R: 214, G: 39, B: 40, A: 255}, {R: 44, G: 160, B: 44, A: 255}}
	for i, m := range mixes {
		c := colors[i%len(colors)]
		for _, side := range []struct {
			name   string
			run    runResult
			dashed bool
		}{{"floor", m.floor, true}, {"kubeship", m.kubeship, false}} {
			line, err := plotter.NewLine(steps(side.run.timeline))
			if err != nil {
				return err
			}
			line.Color, line.Width = c, vg.Points(1.5)
			if side.dashed {
				line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			p.Add(line)
			p.Legend.Add(m.name+" "+side.name, line)
		}
	}
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Legend.Padding = vg.Points(2)
	p.Legend.ThumbnailWidth = vg.Points(24)
	return p.Save(8*vg.Inch, 4.5*vg.Inch, path)
}

// steps turns sorted ready times into a step line: i+1 services ready at timeline[i].
func steps(timeline []time.Duration) plotter.XYs {
	xy := make(plotter.XYs, 0, len(timeline)+1)
	xy = append(xy, plotter.XY{X: 0, Y: 0})
	for i, d := range timeline {
		xy = append(xy, plotter.XY{X: d.Seconds(), Y: float64(i + 1)})
	}
	return xy
}
