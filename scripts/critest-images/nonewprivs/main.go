// The entrypoint of the nonewprivs stand-in image: installed setuid root, it prints the effective
// uid it runs with, which is what critest's NoNewPrivs specs read from the container log
// ("Effective uid: 0" when privilege escalation is allowed, the caller's uid when it is not).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Printf("Effective uid: %d\n", os.Geteuid())
}
