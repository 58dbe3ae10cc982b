// Command pause holds a Pod's namespaces open until it is told to stop: the sandbox image of the
// local node, built here because no registry can serve one.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
