package sandbox

import (
	"io"
	"net"
	"testing"
	"time"
)

// A request still in a socket of the test process, unread by the model
// it is for, holds the world's clock; once read, it does not.
func TestInputPendingSeesUnreadRequests(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// Not accepted yet: the listening socket's queue holds it.
	if !waitUntil(func() bool { return inputPending() }) {
		t.Fatal("a connection not yet accepted by the test process does not count as pending input")
	}
	server, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if _, err := client.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(func() bool { return inputPending() }) {
		t.Fatal("a request the model has not read does not count as pending input")
	}
	if _, err := io.ReadFull(server, make([]byte, 18)); err != nil {
		t.Fatal(err)
	}
	// The client's own socket is the test process's too: it holds nothing.
	if !waitUntil(func() bool { return !inputPending() }) {
		t.Error("with every byte read, input still counts as pending")
	}
}

func waitUntil(cond func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}
