package wire_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/skopos-go/skopos/internal/wire"
)

// counting counts the bytes read from r. It is an io.ByteReader, so that
// the inflater reads no further than it needs (it buffers any other
// reader).
type counting struct {
	r *bytes.Reader
	n int64
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *counting) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// TestDecodeStopsAGzipBomb: a small gzip body that inflates far past the
// limit (32 MiB of zeros in 32 KB) is refused with 413 once the limit is
// passed, having inflated at most MaxBodyBytes+1 bytes (before, 64 MiB:
// the server's memory grew by 150 MB before the 413).
func TestDecodeStopsAGzipBomb(t *testing.T) {
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 32 {
		if _, err := zw.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if bomb.Len() > 64<<10 {
		t.Fatalf("the bomb is %d bytes compressed", bomb.Len())
	}

	// how much the decoder inflated: the compressed bytes it consumed,
	// inflated again here
	body := &counting{r: bytes.NewReader(bomb.Bytes())}
	_, err := wire.Decode(body, "gzip")
	var we *wire.Error
	if !errors.As(err, &we) || we.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("gzip bomb: %v, want a 413 wire.Error", err)
	}
	zr, err := gzip.NewReader(io.LimitReader(bytes.NewReader(bomb.Bytes()), body.n))
	if err != nil {
		t.Fatal(err)
	}
	inflated, _ := io.Copy(io.Discard, zr)
	// the inflater reads ahead by at most a flate window
	if limit := int64(wire.MaxBodyBytes + 1 + 64<<10); inflated > limit {
		t.Errorf("the decoder read %d compressed bytes, %d inflated: want at most %d", body.n, inflated, limit)
	}
}
