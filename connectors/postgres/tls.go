package postgres

import "github.com/sluicehq/sluice/runtime/connect"

// TLS keys, Debezium's (they pass to the JDBC driver as ssl* properties).
const (
	SSLRootCertConfig = "database.sslrootcert"
	SSLCertConfig     = "database.sslcert"
	SSLKeyConfig      = "database.sslkey"
	SSLPasswordConfig = "database.sslpassword"
	SSLFactoryConfig  = "database.sslfactory"
)

// tlsConfig declares them.
var tlsConfig = connect.ConfigDef{
	str(SSLRootCertConfig, nil, connect.Medium, nil,
		"File of the root certificate(s) the server's certificate must chain to (PEM), for sslmode verify-ca and verify-full."),
	str(SSLCertConfig, nil, connect.Medium, nil, "File of the client certificate (PEM) presented to the server."),
	str(SSLKeyConfig, nil, connect.Medium, nil, "File of the client certificate's private key (PEM)."),
	{
		Name: SSLPasswordConfig, Type: connect.ConfigPassword, Default: nil, Importance: connect.Medium,
		Doc: "Password of an encrypted client key in database.sslkey.",
	},
	str(SSLFactoryConfig, nil, connect.Low, nil,
		"The JDBC driver's SSL socket factory class; accepted for Debezium compatibility and ignored (the sslmode and file keys configure TLS)."),
}

// tlsParams are the connection parameters the TLS keys set, in libpq's
// names.
func tlsParams(config map[string]string) [][2]string {
	var out [][2]string
	for _, p := range [][2]string{
		{"sslrootcert", SSLRootCertConfig}, {"sslcert", SSLCertConfig}, {"sslkey", SSLKeyConfig}, {"sslpassword", SSLPasswordConfig},
	} {
		if v := config[p[1]]; v != "" {
			out = append(out, [2]string{p[0], v})
		}
	}
	return out
}
