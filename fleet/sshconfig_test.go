package fleet

import (
	"strings"
	"testing"

	"github.com/kevinburke/ssh_config"
)

const sshConfigText = `Host web*
    HostName %h.example.com
    User deploy
    Port 2222
    IdentityFile ~/.ssh/deploy_key

Host inner
    HostName 10.0.0.7
    ProxyJump admin@bastion:2200,hop2

Host bastion
    HostName bastion.example.com
    IdentityFile %d/.ssh/bastion

Host hop2
    User hopper
    ProxyJump none

Host loop1
    ProxyJump loop2
Host loop2
    ProxyJump loop1

Host badport
    Port http
`

func TestResolveSSH(t *testing.T) {
	cfg, err := ssh_config.Decode(strings.NewReader(sshConfigText))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("USER", "me")
	addr := func(s string) SSHAddr {
		h := &Host{Address: s}
		if err := h.parseAddress(); err != nil {
			t.Fatal(err)
		}
		return *h.SSH
	}
	for _, tc := range []struct {
		addr, want, ids string
	}{
		{"ssh://web1", "deploy@web1.example.com:2222", "/home/me/.ssh/deploy_key"},
		{"ssh://root@web1:22", "root@web1.example.com:22", "/home/me/.ssh/deploy_key"},
		{"ssh://db1", "me@db1:22", ""},
		{"ssh://inner", "admin@bastion.example.com:2200 -> hopper@hop2:22 -> me@10.0.0.7:22", ""},
		{"ssh://loop1", "error: ProxyJump: more than 8 jumps", ""},
		{"ssh://badport", `error: ssh config: Host badport: Port "http" is not a port`, ""},
	} {
		r, err := ResolveSSH(cfg, addr(tc.addr), "/home/me")
		got := r.String()
		if err != nil {
			got = "error: " + err.Error()
		}
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.addr, got, tc.want)
		}
		if err == nil && strings.Join(r.Identities, " ") != tc.ids {
			t.Errorf("%s: identities %q, want %q", tc.addr, r.Identities, tc.ids)
		}
	}
	r, _ := ResolveSSH(cfg, addr("ssh://inner"), "/home/me")
	hops := r.Hops()
	if len(hops) != 3 || hops[0].Identities[0] != "/home/me/.ssh/bastion" || hops[2].Addr != "10.0.0.7:22" || len(hops[2].Jumps) != 0 {
		t.Errorf("hops %+v", hops)
	}
	if r, err := ResolveSSH(nil, addr("ssh://a@b:3"), "/"); err != nil || r.String() != "a@b:3" {
		t.Errorf("no config: %v %v", r, err)
	}
}
