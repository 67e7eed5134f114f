package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress reports sending on stderr: on a terminal one status line
// rewritten four times a second, otherwise a plain line every 2 s.
type progress struct {
	w        io.Writer
	terminal bool
	stop     chan struct{}
	done     sync.WaitGroup
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, terminal: isTerminal(w), stop: make(chan struct{})}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) start(c *counters, begin time.Time) {
	every := 2 * time.Second
	if p.terminal {
		every = 250 * time.Millisecond
	}
	p.done.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		lastN, lastT := int64(0), begin
		for {
			var now time.Time
			final := false
			select {
			case <-p.stop:
				now, final = time.Now(), true
				lastN, lastT = 0, begin // the final line shows the average rate
			case now = <-tick.C:
			}
			n := c.sent()
			rate := 0.0
			if d := now.Sub(lastT).Seconds(); d > 0 {
				rate = float64(n-lastN) / d
			}
			lastN, lastT = n, now
			line := fmt.Sprintf("sent %d  accepted %d  rejected %d  errors %d  %.0f req/s  %s",
				n, c.accepted.Load(), c.rejected.Load(), c.errors.Load(), rate,
				now.Sub(begin).Truncate(100*time.Millisecond))
			if final {
				if p.terminal {
					fmt.Fprintf(p.w, "\r\033[K%s\n", line)
				} else {
					fmt.Fprintln(p.w, line)
				}
				return
			}
			if p.terminal {
				fmt.Fprintf(p.w, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(p.w, line)
			}
		}
	})
}

// finish prints the last status line and stops the display.
func (p *progress) finish() {
	close(p.stop)
	p.done.Wait()
}
