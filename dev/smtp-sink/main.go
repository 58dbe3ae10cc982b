// Command smtp-sink is the local stack's mail catcher: a real SMTP server (github.com/emersion/go-smtp)
// that keeps every message it receives in memory (bounded) and serves them over HTTP with the
// read side of Mailpit's API, so tests and people can read what the platform sent.
//
// Mailpit itself cannot be installed here: `go install github.com/axllent/mailpit@v1.21.8` stops at
// checksum verification (the checksum database has no entry for it through our module proxy),
// and its web UI is built by npm outside the Go module anyway.
//
//	smtp-sink -smtp 127.0.0.1:11025 -http 127.0.0.1:18025    serve until SIGTERM/SIGINT
//	smtp-sink -check -smtp ... -http ...                      health check: SMTP banner+EHLO+QUIT and GET /api/v1/info
//
// HTTP API (JSON shapes follow Mailpit's /api/v1 so Mailpit clients work unchanged):
//
//	GET    /api/v1/messages?start=0&limit=50   newest first: {total, unread, count, messages_count, start, tags, messages:[summary]}
//	GET    /api/v1/search?query=to:x subject:y  same shape, filtered (terms: to: from: subject: or free text)
//	GET    /api/v1/message/{id|latest}          one message with Text, HTML, headers and attachment list (marks it read)
//	GET    /api/v1/message/{id|latest}/raw      the message source as received
//	DELETE /api/v1/messages                      delete all, or only {"IDs":[...]} when that body is sent
//	GET    /api/v1/info                          counts and version
//	GET    /                                     HTML list; /view/{id} shows one message
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const version = "tripnest-smtp-sink/1"

func main() {
	smtpAddr := flag.String("smtp", "127.0.0.1:11025", "SMTP listen address")
	httpAddr := flag.String("http", "127.0.0.1:18025", "HTTP (API and viewer) listen address")
	maxMessages := flag.Int("max-messages", 1000, "keep at most this many messages (oldest are dropped)")
	maxTotal := flag.Int64("max-total-bytes", 128<<20, "keep at most this many bytes of messages (oldest are dropped)")
	maxSize := flag.Int64("max-message-bytes", 16<<20, "reject a single message larger than this")
	check := flag.Bool("check", false, "health check the server at -smtp and -http, then exit")
	flag.Parse()

	if *check {
		if err := healthCheck(*smtpAddr, *httpAddr); err != nil {
			fmt.Fprintln(os.Stderr, "smtp-sink check:", err)
			os.Exit(1)
		}
		fmt.Println("ok")
		return
	}

	store := &store{maxMessages: *maxMessages, maxBytes: *maxTotal}

	s := smtp.NewServer(&backend{store: store})
	s.Addr = *smtpAddr
	s.Domain = "tripnest-smtp-sink"
	s.ReadTimeout = 60 * time.Second
	s.WriteTimeout = 60 * time.Second
	s.MaxMessageBytes = *maxSize
	s.MaxRecipients = 1000
	s.AllowInsecureAuth = true // any AUTH PLAIN/LOGIN is accepted, so apps configured with credentials work
	s.EnableSMTPUTF8 = true

	smtpLn, err := net.Listen("tcp", *smtpAddr)
	if err != nil {
		log.Fatalf("smtp listen: %v", err)
	}
	httpLn, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		log.Fatalf("http listen: %v", err)
	}
	hs := &http.Server{Handler: newAPI(store), ReadHeaderTimeout: 10 * time.Second}

	errc := make(chan error, 2)
	go func() { errc <- s.Serve(smtpLn) }()
	go func() { errc <- hs.Serve(httpLn) }()
	log.Printf("smtp on %s, http on %s", *smtpAddr, *httpAddr)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-errc:
		log.Printf("server failed: %v", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	if err := s.Shutdown(sctx); err != nil {
		_ = s.Close()
	}
	log.Printf("stopped")
}

// ---- storage ----

type address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

type attachment struct {
	PartID      string `json:"PartID"`
	FileName    string `json:"FileName"`
	ContentType string `json:"ContentType"`
	ContentID   string `json:"ContentID"`
	Size        int    `json:"Size"`
}

type message struct {
	ID          string
	MessageID   string
	From        *address
	To, Cc, Bcc []address
	ReplyTo     []address
	ReturnPath  string
	Subject     string
	Date        time.Time
	Created     time.Time
	Text, HTML  string
	Headers     map[string][]string
	Inline      []attachment
	Attachments []attachment
	Raw         []byte
	Read        bool
}

type store struct {
	mu          sync.Mutex
	msgs        []*message // oldest first
	bytes       int64
	maxMessages int
	maxBytes    int64
}

func (s *store) add(m *message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	s.bytes += int64(len(m.Raw))
	for len(s.msgs) > 1 && (len(s.msgs) > s.maxMessages || s.bytes > s.maxBytes) {
		s.bytes -= int64(len(s.msgs[0].Raw))
		s.msgs[0] = nil
		s.msgs = s.msgs[1:]
	}
}

// newestFirst returns a snapshot, newest message first.
func (s *store) newestFirst() []*message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*message, len(s.msgs))
	for i, m := range s.msgs {
		out[len(s.msgs)-1-i] = m
	}
	return out
}

func (s *store) get(id string, markRead bool) *message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m *message
	if id == "latest" {
		if len(s.msgs) > 0 {
			m = s.msgs[len(s.msgs)-1]
		}
	} else {
		for _, x := range s.msgs {
			if x.ID == id {
				m = x
				break
			}
		}
	}
	if m != nil && markRead {
		m.Read = true
	}
	return m
}

func (s *store) delete(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ids == nil {
		s.msgs, s.bytes = nil, 0
		return
	}
	drop := map[string]bool{}
	for _, id := range ids {
		drop[id] = true
	}
	kept := s.msgs[:0]
	for _, m := range s.msgs {
		if drop[m.ID] {
			s.bytes -= int64(len(m.Raw))
			continue
		}
		kept = append(kept, m)
	}
	for i := len(kept); i < len(s.msgs); i++ {
		s.msgs[i] = nil
	}
	s.msgs = kept
}

func (s *store) counts() (total, unread int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		if !m.Read {
			unread++
		}
	}
	return len(s.msgs), unread
}

// ---- SMTP ----

type backend struct{ store *store }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{store: b.store}, nil
}

type session struct {
	store *store
	from  string
	rcpts []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error { return nil }), nil
	case sasl.Login:
		return &loginServer{}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := parseMessage(raw, s.from, s.rcpts)
	s.store.add(m)
	log.Printf("received %s from <%s> to %v: %q (%d bytes)", m.ID, s.from, s.rcpts, m.Subject, len(raw))
	return nil
}

func (s *session) Reset() { s.from, s.rcpts = "", nil }

func (s *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN; any credentials are accepted.
type loginServer struct{ step int }

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	l.step++
	switch l.step {
	case 1:
		if len(response) > 0 { // initial response carried the user name
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		return []byte("Password:"), false, nil
	default:
		return nil, true, nil
	}
}

// ---- MIME ----

var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii", "":
		return input, nil
	case "iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
		b, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		return strings.NewReader(latin1(b)), nil
	}
	return nil, fmt.Errorf("unsupported charset %q", charset)
}

func latin1(b []byte) string {
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = rune(c)
	}
	return string(rs)
}

func newID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 22)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func parseAddrs(h mail.Header, key string) []address {
	v := h.Get(key)
	if v == "" {
		return []address{}
	}
	p := mail.AddressParser{WordDecoder: wordDecoder}
	list, err := p.ParseList(v)
	if err != nil {
		return []address{{Address: strings.TrimSpace(v)}}
	}
	out := make([]address, 0, len(list))
	for _, a := range list {
		out = append(out, address{Name: a.Name, Address: a.Address})
	}
	return out
}

func parseMessage(raw []byte, envFrom string, rcpts []string) *message {
	m := &message{
		ID: newID(), Created: time.Now().UTC(), Raw: raw, ReturnPath: envFrom,
		To: []address{}, Cc: []address{}, Bcc: []address{}, ReplyTo: []address{},
		Inline: []attachment{}, Attachments: []attachment{}, Headers: map[string][]string{},
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		// Not a parseable RFC 5322 message: keep it whole as text.
		m.Text = string(raw)
		m.From = &address{Address: envFrom}
		for _, r := range rcpts {
			m.To = append(m.To, address{Address: r})
		}
		return m
	}
	for k, v := range msg.Header {
		m.Headers[k] = v
	}
	m.MessageID = strings.Trim(msg.Header.Get("Message-Id"), "<> ")
	if s, err := wordDecoder.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		m.Subject = s
	} else {
		m.Subject = msg.Header.Get("Subject")
	}
	if from := parseAddrs(msg.Header, "From"); len(from) > 0 {
		m.From = &from[0]
	} else if envFrom != "" {
		m.From = &address{Address: envFrom}
	}
	m.To = parseAddrs(msg.Header, "To")
	m.Cc = parseAddrs(msg.Header, "Cc")
	m.ReplyTo = parseAddrs(msg.Header, "Reply-To")
	if d, err := msg.Header.Date(); err == nil {
		m.Date = d
	} else {
		m.Date = m.Created
	}
	// Envelope recipients that no header names were Bcc'd (as Mailpit reports them).
	seen := map[string]bool{}
	for _, a := range append(append([]address{}, m.To...), m.Cc...) {
		seen[strings.ToLower(a.Address)] = true
	}
	for _, r := range rcpts {
		if !seen[strings.ToLower(r)] {
			m.Bcc = append(m.Bcc, address{Address: r})
			seen[strings.ToLower(r)] = true
		}
	}
	walkPart(m, textproto(msg.Header), msg.Body, "", 0)
	return m
}

type textproto map[string][]string

func (h textproto) Get(k string) string {
	for key, v := range h {
		if strings.EqualFold(key, k) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func decodeBody(h textproto, body io.Reader) []byte {
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &newlineStripper{r: body})
	}
	b, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil && len(b) == 0 {
		raw, _ := io.ReadAll(body)
		return raw
	}
	return b
}

// newlineStripper drops CR, LF and spaces so base64 bodies wrapped at 76 columns decode.
type newlineStripper struct{ r io.Reader }

func (n *newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

func toUTF8(b []byte, charset string) string {
	if r, err := charsetReader(charset, bytes.NewReader(b)); err == nil {
		out, _ := io.ReadAll(r)
		return string(out)
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return latin1(b)
}

// Bodies are reported with plain \n line ends, whatever the wire carried.
var crlf = strings.NewReplacer("\r\n", "\n")

func walkPart(m *message, h textproto, body io.Reader, partID string, depth int) {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mediaType, params = "text/plain", map[string]string{}
	}
	if strings.HasPrefix(mediaType, "multipart/") && params["boundary"] != "" && depth < 20 {
		mr := multipart.NewReader(body, params["boundary"])
		for i := 1; ; i++ {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			id := strconv.Itoa(i)
			if partID != "" {
				id = partID + "." + id
			}
			walkPart(m, textproto(p.Header), p, id, depth+1)
		}
	}
	if mediaType == "message/rfc822" && depth < 20 {
		// Forwarded message: list it as an attachment.
		data := decodeBody(h, body)
		m.Attachments = append(m.Attachments, attachment{PartID: partID, FileName: "message.eml", ContentType: mediaType, Size: len(data)})
		return
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	filename := dparams["filename"]
	if filename == "" {
		filename = params["name"]
	}
	if f, err := wordDecoder.DecodeHeader(filename); err == nil {
		filename = f
	}
	data := decodeBody(h, body)
	isAttachment := disp == "attachment" || (filename != "" && disp != "inline")
	switch {
	case !isAttachment && mediaType == "text/plain" && m.Text == "":
		m.Text = crlf.Replace(toUTF8(data, params["charset"]))
	case !isAttachment && mediaType == "text/html" && m.HTML == "":
		m.HTML = crlf.Replace(toUTF8(data, params["charset"]))
	default:
		a := attachment{PartID: partID, FileName: filename, ContentType: mediaType,
			ContentID: strings.Trim(h.Get("Content-Id"), "<> "), Size: len(data)}
		if disp == "inline" || (a.ContentID != "" && disp != "attachment") {
			m.Inline = append(m.Inline, a)
		} else {
			m.Attachments = append(m.Attachments, a)
		}
	}
}

// ---- HTTP ----

type summary struct {
	ID          string    `json:"ID"`
	MessageID   string    `json:"MessageID"`
	Read        bool      `json:"Read"`
	From        *address  `json:"From"`
	To          []address `json:"To"`
	Cc          []address `json:"Cc"`
	Bcc         []address `json:"Bcc"`
	ReplyTo     []address `json:"ReplyTo"`
	Subject     string    `json:"Subject"`
	Created     time.Time `json:"Created"`
	Tags        []string  `json:"Tags"`
	Size        int       `json:"Size"`
	Attachments int       `json:"Attachments"`
	Snippet     string    `json:"Snippet"`
}

type detail struct {
	ID          string              `json:"ID"`
	MessageID   string              `json:"MessageID"`
	From        *address            `json:"From"`
	To          []address           `json:"To"`
	Cc          []address           `json:"Cc"`
	Bcc         []address           `json:"Bcc"`
	ReplyTo     []address           `json:"ReplyTo"`
	ReturnPath  string              `json:"ReturnPath"`
	Subject     string              `json:"Subject"`
	Date        time.Time           `json:"Date"`
	Created     time.Time           `json:"Created"`
	Tags        []string            `json:"Tags"`
	Text        string              `json:"Text"`
	HTML        string              `json:"HTML"`
	Size        int                 `json:"Size"`
	Inline      []attachment        `json:"Inline"`
	Attachments []attachment        `json:"Attachments"`
	Headers     map[string][]string `json:"Headers"`
}

func snippet(m *message) string {
	s := m.Text
	if s == "" {
		s = stripTags(m.HTML)
	}
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 250 {
		s = string([]rune(s)[:250]) + "..."
	}
	return s
}

func stripTags(h string) string {
	var b strings.Builder
	in := false
	for _, r := range h {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func toSummary(m *message) summary {
	return summary{ID: m.ID, MessageID: m.MessageID, Read: m.Read, From: m.From, To: m.To, Cc: m.Cc, Bcc: m.Bcc,
		ReplyTo: m.ReplyTo, Subject: m.Subject, Created: m.Created, Tags: []string{}, Size: len(m.Raw),
		Attachments: len(m.Attachments), Snippet: snippet(m)}
}

func toDetail(m *message) detail {
	return detail{ID: m.ID, MessageID: m.MessageID, From: m.From, To: m.To, Cc: m.Cc, Bcc: m.Bcc, ReplyTo: m.ReplyTo,
		ReturnPath: m.ReturnPath, Subject: m.Subject, Date: m.Date, Created: m.Created, Tags: []string{},
		Text: m.Text, HTML: m.HTML, Size: len(m.Raw), Inline: m.Inline, Attachments: m.Attachments, Headers: m.Headers}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}

// matches implements a small part of Mailpit's search syntax: to:, from:, subject:, is:read,
// is:unread, and free words matched against subject, addresses and text. All terms must match.
func matches(m *message, query string) bool {
	addrs := func(list []address) string {
		var b strings.Builder
		for _, a := range list {
			b.WriteString(a.Name + " <" + a.Address + "> ")
		}
		return strings.ToLower(b.String())
	}
	from := ""
	if m.From != nil {
		from = strings.ToLower(m.From.Name + " <" + m.From.Address + ">")
	}
	to := addrs(m.To) + addrs(m.Cc) + addrs(m.Bcc)
	subject := strings.ToLower(m.Subject)
	for _, term := range strings.Fields(strings.ToLower(query)) {
		term = strings.Trim(term, `"`)
		var ok bool
		switch {
		case strings.HasPrefix(term, "to:"):
			ok = strings.Contains(to, strings.TrimPrefix(term, "to:"))
		case strings.HasPrefix(term, "from:"):
			ok = strings.Contains(from, strings.TrimPrefix(term, "from:"))
		case strings.HasPrefix(term, "subject:"):
			ok = strings.Contains(subject, strings.TrimPrefix(term, "subject:"))
		case term == "is:read":
			ok = m.Read
		case term == "is:unread":
			ok = !m.Read
		default:
			ok = strings.Contains(subject, term) || strings.Contains(from, term) || strings.Contains(to, term) ||
				strings.Contains(strings.ToLower(m.Text), term) || strings.Contains(strings.ToLower(m.HTML), term)
		}
		if !ok {
			return false
		}
	}
	return true
}

func newAPI(st *store) http.Handler {
	mux := http.NewServeMux()

	list := func(w http.ResponseWriter, r *http.Request, query string) {
		all := st.newestFirst()
		if query != "" {
			kept := all[:0:0]
			for _, m := range all {
				if matches(m, query) {
					kept = append(kept, m)
				}
			}
			all = kept
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
		if err != nil || limit <= 0 {
			limit = 50
		}
		start = max(0, min(start, len(all)))
		page := all[start:min(len(all), start+limit)]
		out := make([]summary, 0, len(page))
		for _, m := range page {
			out = append(out, toSummary(m))
		}
		total, unread := st.counts()
		writeJSON(w, http.StatusOK, map[string]any{
			"total": total, "unread": unread, "count": len(out), "messages_count": len(all),
			"start": start, "tags": []string{}, "messages": out,
		})
	}
	mux.HandleFunc("GET /api/v1/messages", func(w http.ResponseWriter, r *http.Request) { list(w, r, "") })
	mux.HandleFunc("GET /api/v1/search", func(w http.ResponseWriter, r *http.Request) {
		list(w, r, r.URL.Query().Get("query"))
	})
	mux.HandleFunc("DELETE /api/v1/messages", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ IDs []string }
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, &req); err != nil {
				httpError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
				return
			}
		}
		if len(req.IDs) == 0 {
			req.IDs = nil // no body or no IDs: delete everything, as Mailpit does
		}
		st.delete(req.IDs)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /api/v1/message/{id}", func(w http.ResponseWriter, r *http.Request) {
		m := st.get(r.PathValue("id"), true)
		if m == nil {
			httpError(w, http.StatusNotFound, "message not found")
			return
		}
		writeJSON(w, http.StatusOK, toDetail(m))
	})
	mux.HandleFunc("GET /api/v1/message/{id}/raw", func(w http.ResponseWriter, r *http.Request) {
		m := st.get(r.PathValue("id"), false)
		if m == nil {
			httpError(w, http.StatusNotFound, "message not found")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(m.Raw)
	})
	mux.HandleFunc("GET /api/v1/message/{id}/headers", func(w http.ResponseWriter, r *http.Request) {
		m := st.get(r.PathValue("id"), false)
		if m == nil {
			httpError(w, http.StatusNotFound, "message not found")
			return
		}
		writeJSON(w, http.StatusOK, m.Headers)
	})
	mux.HandleFunc("GET /api/v1/info", func(w http.ResponseWriter, r *http.Request) {
		total, unread := st.counts()
		writeJSON(w, http.StatusOK, map[string]any{"Version": version, "Messages": total, "Unread": unread})
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = pageList.Execute(w, st.newestFirst())
	})
	mux.HandleFunc("GET /view/{id}", func(w http.ResponseWriter, r *http.Request) {
		m := st.get(r.PathValue("id"), true)
		if m == nil {
			httpError(w, http.StatusNotFound, "message not found")
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = pageView.Execute(w, m)
	})
	return mux
}

var funcs = template.FuncMap{
	"addrs": func(list []address) string {
		parts := make([]string, 0, len(list))
		for _, a := range list {
			if a.Name != "" {
				parts = append(parts, a.Name+" <"+a.Address+">")
			} else {
				parts = append(parts, a.Address)
			}
		}
		return strings.Join(parts, ", ")
	},
	"from": func(a *address) string {
		if a == nil {
			return ""
		}
		if a.Name != "" {
			return a.Name + " <" + a.Address + ">"
		}
		return a.Address
	},
	"when": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
}

const css = `<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.4rem .6rem;text-align:left;vertical-align:top}tr.unread td{font-weight:600}
a{color:#0b5cad}pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}iframe{width:100%;height:60vh;border:1px solid #ccc}
.muted{color:#777}</style>`

var pageList = template.Must(template.New("list").Funcs(funcs).Parse(`<!doctype html><html><head><meta charset="utf-8">
<title>TripNest mail</title>` + css + `</head><body>
<h1>TripNest mail <span class="muted">({{len .}})</span></h1>
{{if not .}}<p class="muted">No mail yet. SMTP is listening; messages appear here as they arrive (reload).</p>{{else}}
<table><tr><th>Received</th><th>From</th><th>To</th><th>Subject</th></tr>
{{range .}}<tr{{if not .Read}} class="unread"{{end}}><td>{{when .Created}}</td><td>{{from .From}}</td><td>{{addrs .To}}</td>
<td><a href="/view/{{.ID}}">{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}}</a></td></tr>
{{end}}</table>{{end}}
</body></html>`))

var pageView = template.Must(template.New("view").Funcs(funcs).Parse(`<!doctype html><html><head><meta charset="utf-8">
<title>{{.Subject}}</title>` + css + `</head><body>
<p><a href="/">&larr; all mail</a> · <a href="/api/v1/message/{{.ID}}">JSON</a> · <a href="/api/v1/message/{{.ID}}/raw">raw</a></p>
<h1>{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}}</h1>
<table><tr><th>From</th><td>{{from .From}}</td></tr><tr><th>To</th><td>{{addrs .To}}</td></tr>
{{if .Cc}}<tr><th>Cc</th><td>{{addrs .Cc}}</td></tr>{{end}}{{if .Bcc}}<tr><th>Bcc</th><td>{{addrs .Bcc}}</td></tr>{{end}}
<tr><th>Date</th><td>{{when .Date}}</td></tr>
{{if .Attachments}}<tr><th>Attachments</th><td>{{range .Attachments}}{{.FileName}} ({{.ContentType}}, {{.Size}} bytes) {{end}}</td></tr>{{end}}</table>
{{if .HTML}}<h2>HTML</h2><iframe sandbox srcdoc="{{.HTML}}"></iframe>{{end}}
{{if .Text}}<h2>Text</h2><pre>{{.Text}}</pre>{{end}}
</body></html>`))

// ---- health check ----

func healthCheck(smtpAddr, httpAddr string) error {
	// SMTP: banner, EHLO, QUIT.
	conn, err := net.DialTimeout("tcp", smtpAddr, 2*time.Second)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	br := bufio.NewReader(conn)
	readReply := func(want string) error {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return err
			}
			if !strings.HasPrefix(line, want) {
				return fmt.Errorf("unexpected SMTP reply %q", strings.TrimSpace(line))
			}
			if len(line) < 4 || line[3] != '-' {
				return nil
			}
		}
	}
	if err := readReply("220"); err != nil {
		return fmt.Errorf("smtp banner: %w", err)
	}
	_, _ = io.WriteString(conn, "EHLO healthcheck\r\n")
	if err := readReply("250"); err != nil {
		return fmt.Errorf("smtp EHLO: %w", err)
	}
	_, _ = io.WriteString(conn, "QUIT\r\n")
	_ = readReply("221")

	// HTTP: the API answers with JSON.
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + httpAddr + "/api/v1/messages?limit=1")
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Total *int `json:"total"`
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("http: status %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Total == nil {
		return errors.New("http: /api/v1/messages did not answer with a message list")
	}
	return nil
}
