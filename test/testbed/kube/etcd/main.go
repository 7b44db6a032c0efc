// Command etcd is the test bed's etcd: the real etcd server, built from its Go
// module so that the test bed does not depend on a distribution package.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
