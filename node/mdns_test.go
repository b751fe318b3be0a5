package node

import (
	"context"
	"net"
	"testing"
	"time"
)

// multicastIPv4 returns an up, multicast-capable, non-loopback interface
// address, or "" when the machine has none (mDNS cannot work without one).
func multicastIPv4() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagMulticast == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil {
				return ip.IP.String()
			}
		}
	}
	return ""
}

// TestMDNS: two nodes with no bootstrap peers find each other on the LAN
// through mDNS and connect.
func TestMDNS(t *testing.T) {
	ip := multicastIPv4()
	if ip == "" {
		t.Skip("no multicast-capable network interface")
	}
	mk := func() *Node {
		cfg := testConfig(t)
		cfg.Listen = []string{"/ip4/" + ip + "/tcp/0"}
		cfg.DisableMDNS = false
		return startNode(t, cfg)
	}
	a, b := mk(), mk()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(a.Host().Network().ConnsToPeer(b.ID())) == 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("nodes did not find each other through mDNS: %v", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
