// Command countersign is the Countersign server and its command-line tools.
//
//	countersign [serve]           serve the web app (default)
//	countersign migrate           apply database migrations
//	countersign users create …    create a user (password on stdin)
//	countersign audit verify      verify the audit hash chain
//	countersign seed demo         load a small demo data set
//	countersign desktop           run as a local app for one person
//	countersign version           print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// errUsage marks errors in how the command was called (exit code 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := osEnv{}
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && (args[0][0] != '-' || args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, args, env, stderr)
	case "migrate":
		err = cmdMigrate(ctx, args, env, stdout, stderr)
	case "users":
		err = cmdUsers(ctx, args, env, stdin, stdout, stderr)
	case "clients":
		err = cmdClients(ctx, args, env, stdout, stderr)
	case "audit":
		err = cmdAudit(ctx, args, env, stdout, stderr)
	case "seed":
		err = cmdSeed(ctx, args, env, stdout, stderr)
	case "export":
		err = cmdExport(ctx, args, env, stdout, stderr)
	case "import":
		err = cmdImport(ctx, args, env, stdout, stderr)
	case "desktop":
		err = cmdDesktop(ctx, args, env, stdout, stderr, defaultDesktopDeps())
	case "version":
		fmt.Fprintln(stdout, "countersign", versionString())
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
	default:
		fmt.Fprintf(stderr, "countersign: unknown command %q\n\n%s", cmd, usageText)
		return 2
	}
	if err == nil {
		return 0
	}
	var help helpText
	if errors.As(err, &help) {
		fmt.Fprint(stdout, string(help))
		return 0
	}
	var exit exitError
	if errors.As(err, &exit) {
		return exit.code
	}
	fmt.Fprintln(stderr, "countersign:", err)
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// exitError ends the command with a code after it printed its own message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

const usageText = `Usage: countersign <command> [flags]

Commands:
  serve            serve the web app on 127.0.0.1:8080 (the default command)
  migrate          apply database migrations and print the schema version
  users create     create a user: --email E --name N --role R [--team SLUG] --password-stdin
  clients create   create an API client: --name N --team SLUG --scope access:evaluate (prints id and secret once)
  clients rotate   print a new secret for --client-id ID; clients revoke ends a client and its tokens
  audit verify     verify the audit log's hash chain (exit 0 intact, 1 broken)
  seed demo        load a small, realistic demo data set
  seed scale       generate a large inventory for benchmarks: --servers N --credentials M --audit A
  export --out F   write the whole inventory (no secrets) to a JSON file
  import FILE      merge an exported inventory into this database (idempotent)
  desktop          run as a local app: 127.0.0.1 on a free port, data in the user's config
                   directory, a one-time sign-in link opened in the browser
  version          print the version

Every flag can also be set with an environment variable COUNTERSIGN_<FLAG>
(for example --database and COUNTERSIGN_DATABASE); flags win.
Run "countersign <command> -h" for the flags of a command.
`
