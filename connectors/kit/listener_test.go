package kit

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListenerSyntax(t *testing.T) {
	x := ListenerSyntax{Plain: []string{"mqtt", "tcp"}, TLS: []string{"mqtts", "ssl"}}
	for in, want := range map[string]Listener{
		"127.0.0.1:1883":        {Addr: "127.0.0.1:1883"},
		" tcp://0.0.0.0:0 ":     {Addr: "0.0.0.0:0"},
		"MQTTS://[::1]:8883":    {Addr: "[::1]:8883", TLS: true},
		"ssl://example.com:443": {Addr: "example.com:443", TLS: true},
	} {
		got, err := x.Parse(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, msg := range map[string]string{
		"localhost":       `listener "localhost" is not host:port, mqtt://host:port or mqtts://host:port`,
		"http://h:1":      "scheme http is none of mqtt, tcp, mqtts, ssl",
		"mqtt://h:1/path": "only a scheme, host and port may be given",
		"mqtt://u:p@h:1":  "only a scheme, host and port may be given",
		"h:99999":         `port "99999" is not a number from 0 to 65535`,
	} {
		_, err := x.Parse(in)
		assert.ErrorContains(t, err, msg, in)
	}
	v := x.Validator()
	assert.Equal(t, "at least one listener is required", v.Validate("listeners", []string{}))
}
