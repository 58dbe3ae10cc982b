// pause is the sandbox (infra) container of every Pod on the local node: it holds the Pod's
// namespaces open and does nothing else. dev/images.sh builds it statically (CGO_ENABLED=0)
// into the image tripnest.local/pause:3.10, which containerd's sandbox_image names, because no
// registry is reachable to pull registry.k8s.io/pause. Like the upstream pause it exits 0 on
// SIGTERM or SIGINT and, as PID 1 of a Pod that shares its process namespace, reaps orphans.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		println("tripnest pause 3.10")
		return
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			return
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
