package wire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxFrame is the largest frame, newline included, that a Decoder accepts.
const MaxFrame = 1 << 20

// ErrFrameTooLarge is returned by Decoder.Next for a frame longer than
// MaxFrame. The rest of that frame has been skipped; the stream may go on.
var ErrFrameTooLarge = errors.New("wire: frame too large")

// Decoder reads newline-delimited JSON frames.
type Decoder struct {
	r *bufio.Reader
	// partial is a frame begun before a read error that may pass (a
	// deadline): the next call goes on with it, so that a server can
	// interrupt a read without losing what the client had sent.
	partial []byte
	// skipping: an oversized frame's rest is being skipped.
	skipping bool
}

// NewDecoder reads frames from r. Its buffer is small: most frames are,
// a longer one is read in pieces, and every connection (a libp2p stream
// per remote call) has its own; 64 KiB each made a fleet start's remote
// calls mostly garbage.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 4<<10)}
}

// Next returns the next frame without its newline. It returns io.EOF at a
// clean end of stream, io.ErrUnexpectedEOF when the stream ends inside a
// frame, and ErrFrameTooLarge (after skipping the frame) for an oversized one.
// After another error of the reader (a deadline), Next may be called again
// and goes on where it stopped.
func (d *Decoder) Next() ([]byte, error) {
	if d.skipping {
		if err := d.skipLine(); err != nil {
			return nil, err
		}
		return nil, ErrFrameTooLarge
	}
	frame := d.partial
	d.partial = nil
	for {
		chunk, err := d.r.ReadSlice('\n')
		if len(frame)+len(chunk) > MaxFrame {
			if err == nil {
				return nil, ErrFrameTooLarge
			}
			d.skipping = true
			if err2 := d.skipLine(); err2 != nil {
				return nil, err2
			}
			return nil, ErrFrameTooLarge
		}
		frame = append(frame, chunk...)
		switch {
		case err == nil:
			return bytes.TrimRight(frame, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(frame) == 0 {
				return nil, io.EOF
			}
			return nil, io.ErrUnexpectedEOF
		default:
			d.partial = frame
			return nil, err
		}
	}
}

// skipLine discards input up to and including the next newline; on an
// error other than EOF it may be called again to go on.
func (d *Decoder) skipLine() error {
	for {
		_, err := d.r.ReadSlice('\n')
		switch {
		case err == nil:
			d.skipping = false
			return nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			d.skipping = false
			return io.ErrUnexpectedEOF
		default:
			return err
		}
	}
}

// Buffered returns a copy of what the decoder has read but not returned:
// the start of an unfinished frame and any frames after it. A reader
// given these bytes, then the rest of the stream, decodes the same frames.
// It reports false while an oversized frame is being skipped (its rest
// is not a frame).
func (d *Decoder) Buffered() ([]byte, bool) {
	if d.skipping {
		return nil, false
	}
	rest, _ := d.r.Peek(d.r.Buffered())
	return append(append([]byte(nil), d.partial...), rest...), true
}

// DecodeRequest parses one request frame. Errors are *Error of kind BadRequest.
func DecodeRequest(frame []byte) (Request, error) {
	if req, ok := fastRequest(frame); ok {
		return req, nil
	}
	var req Request
	dec := json.NewDecoder(bytes.NewReader(frame))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, Errorf(BadRequest, "malformed request: %v", err)
	}
	if dec.More() {
		return Request{}, Errorf(BadRequest, "malformed request: trailing data after the JSON object")
	}
	if req.Action == "" {
		return Request{}, Errorf(BadRequest, "malformed request: no action")
	}
	return req, nil
}

// Encode writes v as one frame.
func Encode(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("wire: encode: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// OKReply builds a successful reply carrying result.
func OKReply(id uint64, result any) Reply {
	r := Reply{ID: id, OK: true}
	if result != nil {
		b, err := json.Marshal(result)
		if err != nil {
			return ErrReply(id, Errorf(BadRequest, "cannot encode result: %v", err))
		}
		r.Result = b
	}
	return r
}

// ErrReply builds a failed reply.
func ErrReply(id uint64, e *Error) Reply {
	return Reply{ID: id, Error: e}
}
