package forest

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procState is the state letter and parent PID of a process from /proc/PID/stat.
func procState(pid int) (string, int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 2 {
		return "", 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return fields[0], ppid
}

// hasOpen reports whether process pid has path open.
func hasOpen(pid int, path string) bool {
	// The kernel names open files by their real path: a forest reached
	// through a symbolic link (a worktree whose .cache links to another's)
	// is compared by where the link leads.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if link, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && link == path {
			return true
		}
	}
	return false
}

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	st, _ := procState(pid)
	return st != "" && st != "Z"
}

// processTree is pid and all its descendants.
func processTree(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid := procState(p); ppid > 0 {
			children[ppid] = append(children[ppid], p)
		}
	}
	tree := []int{pid}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// Socket is a listening (TCP) or bound (UDP) socket of a forest's processes.
type Socket struct {
	Proto string // tcp, tcp6, udp, udp6
	Addr  net.IP
	Port  int
	PID   int
}

func (s Socket) String() string {
	return fmt.Sprintf("%s %s (pid %d)", s.Proto, net.JoinHostPort(s.Addr.String(), strconv.Itoa(s.Port)), s.PID)
}

// Sockets lists the listening TCP sockets and the bound, unconnected UDP
// sockets of the forest's process tree, read from /proc.
func (f *Forest) Sockets() ([]Socket, error) {
	pids := f.Processes()
	if len(pids) == 0 {
		return nil, fmt.Errorf("forest %s is not running", f.Name)
	}
	inodes := map[string]int{}
	for _, pid := range pids {
		fdDir := fmt.Sprintf("/proc/%d/fd", pid)
		fds, _ := os.ReadDir(fdDir)
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err == nil && strings.HasPrefix(link, "socket:[") {
				inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = pid
			}
		}
	}
	var out []Socket
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		file, err := os.Open("/proc/net/" + proto)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(file)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 {
				continue
			}
			pid, ours := inodes[fields[9]]
			if !ours {
				continue
			}
			state := fields[3]
			listening := (strings.HasPrefix(proto, "tcp") && state == "0A") ||
				(strings.HasPrefix(proto, "udp") && state == "07")
			if !listening {
				continue
			}
			ip, port, err := parseProcAddr(fields[1])
			if err != nil {
				file.Close()
				return nil, err
			}
			out = append(out, Socket{Proto: proto, Addr: ip, Port: port, PID: pid})
		}
		file.Close()
	}
	return out, nil
}

// parseProcAddr decodes /proc/net/* "0200007F:0185": the address as 32-bit
// words in host (little-endian) order, the port in big-endian hex.
func parseProcAddr(s string) (net.IP, int, error) {
	host, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return nil, 0, fmt.Errorf("bad address %q", s)
	}
	raw, err := hex.DecodeString(host)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return nil, 0, fmt.Errorf("bad address %q", s)
	}
	ip := make(net.IP, len(raw))
	for w := 0; w < len(raw); w += 4 {
		ip[w], ip[w+1], ip[w+2], ip[w+3] = raw[w+3], raw[w+2], raw[w+1], raw[w]
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return nil, 0, fmt.Errorf("bad port %q", s)
	}
	return ip, int(port), nil
}
