package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/skopos-go/skopos/internal/testwait"
)

// Browser is one headless Chromium (Debian's package; .ci/run installs it)
// shared by a test binary; every test opens its own tab. The zero value is
// ready: the browser starts with the first Tab. Call Close from TestMain.
type Browser struct {
	once    sync.Once
	ctx     context.Context // the browser; tabs are its children
	skip    string          // why browser tests skip (chromium absent)
	err     error
	stop    func()
	dataDir string
}

// Tab opens a tab that closes, like its timeout, when the test ends. The
// timeout bounds the whole test's browser work and stretches like every
// test deadline (testwait.Scale). The test is skipped with a clear
// message when no Chromium is installed.
func (b *Browser) Tab(t *testing.T, timeout time.Duration, opts ...chromedp.ContextOption) context.Context {
	t.Helper()
	b.once.Do(b.start)
	if b.skip != "" {
		t.Skip(b.skip)
	}
	if b.err != nil {
		t.Fatal(b.err)
	}
	ctx, cancel := chromedp.NewContext(b.ctx, opts...)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, testwait.Scale(timeout))
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatal(err)
	}
	return ctx
}

// Close stops the browser and removes its profile.
func (b *Browser) Close() {
	if b.stop != nil {
		b.stop()
	}
	if b.dataDir != "" {
		os.RemoveAll(b.dataDir)
	}
}

func (b *Browser) start() {
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		b.skip = "chromium is not installed (apt-get install chromium; .ci/run installs it)"
		return
	}
	dir, err := os.MkdirTemp("", "skopos-chromium")
	if err != nil {
		b.err = err
		return
	}
	b.dataDir = dir
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// this machine has no network: background connections only fail
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
		// the bot filter rightly scores "HeadlessChrome" as a bot
		chromedp.UserAgent(Chrome),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		b.err = fmt.Errorf("start %s: %w", path, err)
		return
	}
	b.ctx = ctx
	b.stop = func() { cancelBrowser(); cancelAlloc() }
}

// Until polls a JavaScript condition every 50 ms until it holds, for
// testwait.Timeout(). After a click that navigates, a node query can hold
// on to the old document; a poll cannot. An evaluation that races the
// navigation fails and is tried again.
func Until(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		within := testwait.Timeout()
		deadline := time.Now().Add(within)
		for {
			ok, err := chromedp.Evaluate[bool](js)(ctx, t)
			if err == nil && ok {
				return nil
			}
			if time.Now().After(deadline) {
				href, _ := chromedp.Evaluate[string](`location.href + " " + document.readyState`)(ctx, t)
				return fmt.Errorf("not within %v: %s (last error %v; at %s)", within, js, err, href)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}
