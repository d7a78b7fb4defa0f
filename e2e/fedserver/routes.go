package fedserver

import (
	"net"
	"net/http"
	"strconv"
	"strings"
)

// routes is the whole route table. Paths are matched case-insensitively, as
// http.sys (AD FS) and PingFederate's Jetty treat these endpoints.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	if s.cfg.ADFSName != "" {
		mux.HandleFunc("GET /federationmetadata/2007-06/federationmetadata.xml", s.serveADFSMetadata)
		mux.HandleFunc("GET /adfs/services/trust/mex", s.serveMex)
		mux.HandleFunc("/adfs/ls/", s.serveADFSLogin)
		mux.HandleFunc("/adfs/ls", s.serveADFSLogin)
		mux.HandleFunc("/adfs/services/trust/2005/usernamemixed", s.notImplemented(roleADFS,
			"WS-Trust (active sign-in for rich clients) is not implemented by hybridsync's AD FS stand-in."))
		mux.HandleFunc("GET /adfs/probe", heartbeat) // AD FS's load balancer probe
	}
	if s.cfg.PingHost != "" {
		mux.HandleFunc("GET /pf/federation_metadata.ping", s.servePingMetadata)
		mux.HandleFunc("GET /pf/heartbeat.ping", heartbeat)
		mux.HandleFunc("/idp/sso.saml2", s.servePingSSO)
		mux.HandleFunc("/idp/prp.wsf", s.servePingWSFed)
		mux.HandleFunc("/idp/slo.saml2", s.notImplemented(rolePing,
			"SAML single logout is not implemented by hybridsync's PingFederate stand-in."))
		mux.HandleFunc("/idp/sts.wst", s.notImplemented(rolePing,
			"WS-Trust (/idp/sts.wst) is not implemented by hybridsync's PingFederate stand-in."))
		mux.HandleFunc("/pf/sts_mex.ping", s.notImplemented(rolePing,
			"WS-MetadataExchange (/pf/sts_mex.ping) is not implemented by hybridsync's PingFederate stand-in."))
		mux.HandleFunc("POST /_fedserver/ping-sp-connection", s.servePingSPToggle)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Find the route by the lower-cased path; the handler sees the
		// request as sent (its forms post back to the path the client used).
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.ToLower(r.URL.Path)
		r2.URL.RawPath = ""
		h, _ := mux.Handler(r2)
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
		h.ServeHTTP(w, r)
	})
}

func heartbeat(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("OK"))
}

// notImplemented answers 501 with a sentence saying what is missing.
func (s *Server) notImplemented(rl role, msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.log.Info("not implemented", "role", rl.String(), "path", r.URL.Path)
		http.Error(w, msg, http.StatusNotImplemented)
	}
}

// servePingSPToggle is the test hook that breaks or fixes PingFederate's SP
// connection for urn:federation:MicrosoftOnline: loopback clients only.
func (s *Server) servePingSPToggle(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		http.Error(w, "loopback clients only", http.StatusForbidden)
		return
	}
	enabled, err := strconv.ParseBool(r.URL.Query().Get("enabled"))
	if err != nil {
		http.Error(w, "enabled=true or enabled=false", http.StatusBadRequest)
		return
	}
	s.SetPingSPConnection(enabled)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("SP connection " + MicrosoftOnline + " enabled=" + strconv.FormatBool(enabled) + "\n"))
}
