package notifier

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/shepherd-go/shepherd/services/alerting"
	"github.com/shepherd-go/shepherd/services/config"
)

// send makes one try of alert a to target t.
func (n *Notifier) send(ctx context.Context, t config.NotifyTarget, a alerting.Alert) error {
	switch t.Type {
	case "webhook":
		body, ctype := payload(a), "application/json"
		if t.Body != "" {
			b, err := render(t.Name, t.Body, a)
			if err != nil {
				return err
			}
			body, ctype = b, ""
		}
		return post(ctx, t, body, ctype, a.Key)
	case "slack":
		b, _ := json.Marshal(map[string]string{"text": text(a), "idempotency_key": a.Key})
		return post(ctx, t, b, "application/json", a.Key)
	case "script":
		return n.runScript(ctx, t, a)
	case "email":
		return sendMail(ctx, t, a)
	}
	return fmt.Errorf("unknown target type %q", t.Type)
}

// text is an alert in one line or two, for people.
func text(a alerting.Alert) string {
	var s string
	switch a.Status {
	case alerting.Resolved:
		s = fmt.Sprintf("RESOLVED on %s: %s is fine again (incident %s, %d failures since %s)", a.Host, a.Subject, a.Incident, a.Failures, a.Opened.Format(time.RFC3339))
	case alerting.Test:
		s = fmt.Sprintf("TEST from %s: %s", a.Host, a.Message)
	default:
		s = fmt.Sprintf("FIRING on %s: %s: %s (incident %s)", a.Host, a.Subject, a.Class, a.Incident)
		if a.Message != "" {
			s += "\n" + a.Message
		}
	}
	return s
}

// funcs are the functions a template may call: json quotes a value as
// JSON (a string from a service's output goes into a JSON body through
// it, escaped), upper upper-cases.
var funcs = template.FuncMap{
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"upper": strings.ToUpper,
}

// maxBody bounds a rendered template.
const maxBody = 64 << 10

func render(name, text string, a alerting.Alert) ([]byte, error) {
	tpl, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	var buf bytes.Buffer
	if err := tpl.Execute(&limited{&buf, maxBody}, a); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return buf.Bytes(), nil
}

type limited struct {
	w *bytes.Buffer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if l.w.Len()+len(p) > l.n {
		return 0, fmt.Errorf("more than %d bytes", l.n)
	}
	return l.w.Write(p)
}

var client = &http.Client{
	// A redirect would carry the headers (credentials) elsewhere.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// post sends body to a webhook. Errors never hold the URL (a Slack URL
// is a secret) nor a header's value.
func post(ctx context.Context, t config.NotifyTarget, body []byte, ctype, key string) error {
	req, err := http.NewRequestWithContext(ctx, t.Method, t.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("bad url")
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("User-Agent", "shepherd-notify")
	req.Header.Set("Idempotency-Key", key)
	for k, v := range t.Headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s %s: %v", t.Method, req.URL.Host, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", t.Method, req.URL.Host, resp.Status)
	}
	return nil
}

// sendMail sends the alert through t's SMTP server: STARTTLS when the
// server offers it, the credentials only over TLS or to loopback
// (net/smtp's PlainAuth refuses otherwise), the key as Message-ID.
func sendMail(ctx context.Context, t config.NotifyTarget, a alerting.Alert) error {
	host, _, _ := net.SplitHostPort(t.SMTP)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", t.SMTP)
	if err != nil {
		return fmt.Errorf("smtp %s: %v", t.SMTP, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp %s: %v", t.SMTP, err)
	}
	defer c.Close()
	fail := func(step string, err error) error { return fmt.Errorf("smtp %s: %s: %v", t.SMTP, step, err) }
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return fail("starttls", err)
		}
	}
	if t.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", t.Username, t.Password, host)); err != nil {
			return fail("auth", err)
		}
	}
	if err := c.Mail(t.From); err != nil {
		return fail("mail from", err)
	}
	for _, to := range t.To {
		if err := c.Rcpt(to); err != nil {
			return fail("rcpt to", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fail("data", err)
	}
	subject := fmt.Sprintf("[shepherd] %s: %s: %s", strings.ToUpper(a.Status), a.Subject, a.Class)
	if a.Status != alerting.Firing {
		subject = fmt.Sprintf("[shepherd] %s: %s", strings.ToUpper(a.Status), a.Subject)
	}
	if t.Subject != "" {
		b, err := render(t.Name, t.Subject, a)
		if err != nil {
			return err
		}
		subject = string(b)
	}
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@shepherd>\r\nX-Shepherd-Idempotency-Key: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		t.From, strings.Join(t.To, ", "), headerSafe(subject), a.Time.Format(time.RFC1123Z), headerSafe(strings.ReplaceAll(a.Key, "/", ".")), headerSafe(a.Key))
	body := text(a) + "\n\n" + string(payload(a)) + "\n"
	// Dot-stuffing is the DATA writer's; bare CRs and LFs become CRLF.
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r", ""), "\n", "\r\n")
	msg.WriteString(body)
	if _, err := w.Write(msg.Bytes()); err != nil {
		return fail("data", err)
	}
	if err := w.Close(); err != nil {
		return fail("data", err)
	}
	return c.Quit()
}

// headerSafe keeps a header value on one line (no injected headers).
func headerSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return alerting.Clean(s, 200)
}
