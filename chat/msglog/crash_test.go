package msglog_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/chat/msglog"
)

// Environment of the crash test's child processes.
const (
	crashDirEnv   = "PARLEY_MSGLOG_CRASH_DIR" // set: run as a child appending into this data directory
	crashRunEnv   = "PARLEY_MSGLOG_CRASH_RUN" // child number, keeps client ids unique across runs
	crashKillsEnv = "PARLEY_CRASH_KILLS"      // number of kill -9 rounds; default crashKills
)

const (
	crashKills        = 5
	crashWorkers      = 6
	crashConvs        = 3
	crashChildTimeout = 30 * time.Second // a child nobody kills exits on its own
)

// TestCrashChild is the child process of TestCrashKill9: it appends from
// several goroutines until it is killed, printing "SEND conv sender id"
// before each Append and "ACK conv seq sender id" as soon as it returns.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("runs only as the child process of TestCrashKill9")
	}
	run := os.Getenv(crashRunEnv)
	db := openDB(t, dir)
	l, err := msglog.Open(db, msglog.Options{Shards: 2})
	if err != nil {
		t.Fatalf("open log: %v", err)
	}
	var mu sync.Mutex
	emit := func(format string, args ...any) {
		line := fmt.Sprintf(format+"\n", args...)
		mu.Lock()
		defer mu.Unlock()
		os.Stdout.WriteString(line) // one write per line: nothing buffered to lose on SIGKILL
	}
	for w := range crashWorkers {
		go func() {
			sender := fmt.Sprintf("u%d", w)
			for i := 0; ; i++ {
				conv := fmt.Sprintf("c%d", (w+i)%crashConvs)
				id := fmt.Sprintf("r%s-%d", run, i)
				emit("SEND %s %s %s", conv, sender, id)
				e, dup, err := l.Append(context.Background(), crashDraft(conv, sender, id))
				if err != nil || dup {
					emit("ERR %s %s %s dup=%v %v", conv, sender, id, dup, err)
					return
				}
				emit("ACK %s %d %s %s", e.ConversationID, e.Seq, sender, id)
			}
		}()
	}
	time.Sleep(crashChildTimeout)
	t.Fatalf("child was not killed within %s", crashChildTimeout)
}

// crashDraft is the message a crash child sends; a third of them are not
// counted (see crashCounted), as system entries would not be.
func crashDraft(conv, sender, id string) msglog.Draft {
	d := text(conv, sender, id, id)
	d.Counted = crashCounted(id)
	return d
}

// crashCounted tells from a crash child's client id "r<run>-<i>" whether
// it was appended as counted.
func crashCounted(id string) bool {
	_, i, _ := strings.Cut(id, "-")
	n, _ := strconv.Atoi(i)
	return n%3 != 0
}

type crashMsg struct {
	conv   string
	seq    uint64 // 0 until acked
	acked  bool
	sender string
	id     string
}

// TestCrashKill9 runs children that append continuously, kills each with
// SIGKILL at a random moment, resends what was in flight, and finally
// checks that every acked message is stored exactly once at its acked seq
// and that every conversation is gapless.
func TestCrashKill9(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("this is the child")
	}
	kills := crashKills
	if v := os.Getenv(crashKillsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q is not a positive number", crashKillsEnv, v)
		}
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d kills", seed, kills)
	rng := rand.New(rand.NewPCG(seed, seed))
	dir := t.TempDir()
	msgs := map[string]*crashMsg{} // by sender/id

	for run := range kills {
		acks := runCrashChild(t, dir, run, 20+rng.IntN(200), msgs)
		t.Logf("child %d killed after %d acks", run, acks)

		// Resend everything that was in flight, as a client whose ack was
		// lost would: it must be stored exactly once, whether the crash
		// kept it or not.
		db := openDB(t, dir)
		l, err := msglog.Open(db, msglog.Options{})
		if err != nil {
			t.Fatalf("open log: %v", err)
		}
		resent, dups := 0, 0
		for _, m := range msgs {
			if m.acked {
				continue
			}
			e, dup, err := l.Append(context.Background(), crashDraft(m.conv, m.sender, m.id))
			if err != nil {
				t.Fatalf("resend %s/%s: %v", m.sender, m.id, err)
			}
			m.seq, m.acked = e.Seq, true
			resent++
			if dup {
				dups++
			}
		}
		t.Logf("resent %d in-flight messages after the crash, %d were already stored", resent, dups)
		closeAll(t, db, l)
	}

	db := openDB(t, dir)
	l, err := msglog.Open(db, msglog.Options{})
	if err != nil {
		t.Fatalf("open log: %v", err)
	}
	defer closeAll(t, db, l)
	stored := 0
	for c := range crashConvs {
		conv := fmt.Sprintf("c%d", c)
		for _, e := range readAll(t, l, conv) { // fails on any gap
			m := msgs[clientKey(e)]
			if m == nil {
				t.Fatalf("stored %s was never sent", clientKey(e))
			}
			if m.conv != conv || m.seq != e.Seq {
				t.Fatalf("%s acked at %s seq %d, stored at %s seq %d (or stored twice)", clientKey(e), m.conv, m.seq, conv, e.Seq)
			}
			if string(e.Body) != fmt.Sprintf(`{"text":%q}`, m.id) {
				t.Fatalf("%s has body %s", clientKey(e), e.Body)
			}
			stored++
		}
		// The running totals of counted entries were committed with the
		// entries: exact at every seq, whatever the kills interrupted.
		senders := make([]string, crashWorkers)
		for w := range senders {
			senders[w] = fmt.Sprintf("u%d", w)
		}
		wantCounts(t, l, conv, senders, func(e msglog.Entry) bool { return crashCounted(e.ClientMsgID) })
	}
	if stored != len(msgs) {
		t.Fatalf("stored %d messages, sent %d", stored, len(msgs))
	}
	t.Logf("%d messages in %d conversations survived %d kills", stored, crashConvs, kills)
}

// runCrashChild starts one child on dir, kills it with SIGKILL once it has
// acked killAfter messages, and records every SEND and ACK it printed in
// msgs. It returns the number of acks read.
func runCrashChild(t *testing.T, dir string, run, killAfter int, msgs map[string]*crashMsg) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRunEnv+"="+strconv.Itoa(run))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	// Whatever happens to the parent's reading, the child does not outlive
	// its budget.
	watchdog := time.AfterFunc(crashChildTimeout, func() { cmd.Process.Kill() })
	defer watchdog.Stop()

	acks, killed := 0, false
	var other []string
	sc := bufio.NewScanner(out)
	for sc.Scan() { // read to EOF: lines the child wrote before it died still count
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 4 && f[0] == "SEND":
			key := f[2] + "/" + f[3]
			if msgs[key] != nil {
				t.Errorf("child sent %s twice", key)
			}
			msgs[key] = &crashMsg{conv: f[1], sender: f[2], id: f[3]}
		case len(f) == 5 && f[0] == "ACK":
			m := msgs[f[3]+"/"+f[4]]
			seq, err := strconv.ParseUint(f[2], 10, 64)
			if m == nil || err != nil || m.conv != f[1] || m.acked {
				t.Errorf("bad ack %q", sc.Text())
				continue
			}
			m.seq, m.acked = seq, true
			acks++
			if acks == killAfter && !killed {
				killed = true
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Errorf("kill child: %v", err)
				}
			}
		case len(f) > 0 && f[0] == "ERR":
			t.Errorf("child %d: %s", run, sc.Text())
			if !killed {
				killed = true
				cmd.Process.Signal(syscall.SIGKILL)
			}
		default:
			other = append(other, sc.Text())
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !killed || !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child %d ended with %v after %d acks (killed by us: %v)\nstdout: %s\nstderr: %s", run, err, acks, killed, strings.Join(other, "\n"), stderr.String())
	}
	if t.Failed() {
		t.FailNow()
	}
	return acks
}
