// Command ferretdb serves the MongoDB wire protocol for the local stack by embedding
// FerretDB v1 (github.com/FerretDB/FerretDB/ferretdb) with its SQLite backend.
//
// Building FerretDB's own command with `go install` gives a binary that panics at start
// (it needs generated version files that are not in the module), so we embed the public
// package instead. dev/components/ferretdb.sh builds and runs it.
//
//	ferretdb -listen 127.0.0.1:37017 -sqlite-dir /path/to/data   serve until SIGTERM/SIGINT
//	ferretdb -ping mongodb://127.0.0.1:37017/                      one real OP_MSG ping (exit 0 when ok)
//	ferretdb ... -debug-addr 127.0.0.1:6061                         also serve Go's pprof there (profiling)
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with -debug-addr
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/bson"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:37017", "TCP address to serve the MongoDB wire protocol on")
	handler := flag.String("handler", "sqlite", "backend: sqlite or postgresql")
	sqliteDir := flag.String("sqlite-dir", "data", "directory for the SQLite backend (one file per database)")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL URL for the postgresql backend")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	ping := flag.String("ping", "", "instead of serving, send one ping to this MongoDB URI and exit 0 when it answers ok")
	timeout := flag.Duration("timeout", 3*time.Second, "timeout for -ping")
	debugAddr := flag.String("debug-addr", "", "serve Go's pprof handlers on this loopback address (off when empty)")
	flag.Parse()

	if *ping != "" {
		if err := doPing(*ping, *timeout); err != nil {
			fmt.Fprintln(os.Stderr, "ping:", err)
			os.Exit(1)
		}
		fmt.Println("ok")
		return
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fatal(fmt.Errorf("bad -log-level: %w", err))
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	cfg := &ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Logger:        logger,
		Handler:       *handler,
		PostgreSQLURL: *pgURL,
	}
	if *handler == "sqlite" {
		dir, err := filepath.Abs(*sqliteDir)
		if err != nil {
			fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fatal(err)
		}
		// FerretDB wants a file: URI naming a directory, with a trailing slash.
		cfg.SQLiteURL = "file:" + dir + "/"
	}

	f, err := ferretdb.New(cfg)
	if err != nil {
		fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if *debugAddr != "" {
		if host, _, err := net.SplitHostPort(*debugAddr); err != nil || !net.ParseIP(host).IsLoopback() {
			fatal(fmt.Errorf("-debug-addr must be a loopback host:port, got %q", *debugAddr))
		}
		go func() { logger.Warn("pprof stopped", "error", http.ListenAndServe(*debugAddr, nil)) }()
	}

	logger.Warn("ferretdb serving", "listen", *listen, "handler", *handler, "sqlite", cfg.SQLiteURL)
	if err := f.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fatal(err)
	}
	logger.Warn("ferretdb stopped")
}

// doPing sends one OP_MSG {ping: 1, $db: "admin"} over a plain connection and checks the
// reply's ok field. In FerretDB, ping also asks the storage backend for its status. (The
// official driver would add sessions and an endSessions call that FerretDB logs as an error.)
func doPing(uri string, timeout time.Duration) error {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" {
		return fmt.Errorf("want a mongodb://host:port/ URI, got %q", uri)
	}
	conn, err := net.DialTimeout("tcp", u.Host, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))

	doc, err := bson.Marshal(bson.D{{Key: "ping", Value: int32(1)}, {Key: "$db", Value: "admin"}})
	if err != nil {
		return err
	}
	const opMsg = 2013
	msg := make([]byte, 0, 21+len(doc))
	msg = binary.LittleEndian.AppendUint32(msg, uint32(16+4+1+len(doc))) // messageLength
	msg = binary.LittleEndian.AppendUint32(msg, 1)                       // requestID
	msg = binary.LittleEndian.AppendUint32(msg, 0)                       // responseTo
	msg = binary.LittleEndian.AppendUint32(msg, opMsg)                   // opCode
	msg = binary.LittleEndian.AppendUint32(msg, 0)                       // flagBits
	msg = append(msg, 0)                                                 // section kind 0: body
	msg = append(msg, doc...)
	if _, err := conn.Write(msg); err != nil {
		return err
	}

	hdr := make([]byte, 16)
	if _, err := io.ReadFull(conn, hdr); err != nil {
		return err
	}
	n := binary.LittleEndian.Uint32(hdr[0:])
	if op := binary.LittleEndian.Uint32(hdr[12:]); op != opMsg || n < 21 || n > 16<<20 {
		return fmt.Errorf("unexpected reply header (opCode %d, length %d)", op, n)
	}
	body := make([]byte, n-16)
	if _, err := io.ReadFull(conn, body); err != nil {
		return err
	}
	if body[4] != 0 {
		return fmt.Errorf("unexpected reply section kind %d", body[4])
	}
	var res bson.M
	if err := bson.Unmarshal(body[5:], &res); err != nil {
		return err
	}
	if ok, _ := res["ok"].(float64); ok != 1 {
		return fmt.Errorf("unexpected reply %v", res)
	}
	return nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "ferretdb:", err)
	os.Exit(1)
}
