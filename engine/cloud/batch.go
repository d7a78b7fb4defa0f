package cloud

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// MaxBatch is Graph's limit of requests in one $batch.
const MaxBatch = 20

// BatchRequest is one request of a $batch. URL is relative to GraphURL
// ("/users"). DependsOn may only name requests in the same group of 20.
type BatchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      any               `json:"body,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
}

// BatchResponse is one response of a $batch.
type BatchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// Err is nil for a 2xx response and the *Error its body carries otherwise.
func (r BatchResponse) Err() error {
	if r.Status >= 200 && r.Status < 300 {
		return nil
	}
	ra, _ := retryAfter(r.Headers["Retry-After"], time.Now())
	return parseError(r.Status, r.Body, ra)
}

// Decode unmarshals a 2xx body into v.
func (r BatchResponse) Decode(v any) error {
	if err := r.Err(); err != nil {
		return err
	}
	return json.Unmarshal(r.Body, v)
}

// Batch sends reqs as $batch calls of at most 20, and returns one response
// per request in the order given. Items answered 429 or 503 are resent, after
// the longest Retry-After among them, within the client's retry bound; what
// is still throttled after that is returned as is. Requests without an ID
// get their index as ID.
func (c *Client) Batch(ctx context.Context, reqs []BatchRequest) ([]BatchResponse, error) {
	out := make([]BatchResponse, len(reqs))
	seen := map[string]bool{}
	for i := range reqs {
		if reqs[i].ID == "" {
			reqs[i].ID = strconv.Itoa(i + 1)
		}
		if seen[reqs[i].ID] {
			return nil, fmt.Errorf("cloud: duplicate batch request id %q", reqs[i].ID)
		}
		seen[reqs[i].ID] = true
		if reqs[i].Body != nil && reqs[i].Headers["Content-Type"] == "" {
			h := map[string]string{"Content-Type": "application/json"}
			for k, v := range reqs[i].Headers {
				h[k] = v
			}
			reqs[i].Headers = h
		}
	}
	for start := 0; start < len(reqs); start += MaxBatch {
		end := min(start+MaxBatch, len(reqs))
		if err := c.batchGroup(ctx, reqs[start:end], out[start:end]); err != nil {
			return out[:start], err
		}
	}
	return out, nil
}

func (c *Client) batchGroup(ctx context.Context, reqs []BatchRequest, out []BatchResponse) error {
	pending := make([]int, len(reqs))
	for i := range pending {
		pending[i] = i
	}
	for attempt := 0; ; attempt++ {
		inFlight := map[string]bool{}
		for _, i := range pending {
			inFlight[reqs[i].ID] = true
		}
		send := make([]BatchRequest, 0, len(pending))
		for _, i := range pending {
			r := reqs[i]
			// A dependency that already succeeded is not resent; drop it.
			var deps []string
			for _, d := range r.DependsOn {
				if inFlight[d] {
					deps = append(deps, d)
				}
			}
			r.DependsOn = deps
			send = append(send, r)
		}
		var res struct {
			Responses []BatchResponse `json:"responses"`
		}
		if err := c.do(ctx, http.MethodPost, "$batch", map[string]any{"requests": send}, &res); err != nil {
			return err
		}
		byID := map[string]BatchResponse{}
		for _, r := range res.Responses {
			byID[r.ID] = r
		}
		var again []int
		var wait time.Duration
		for _, i := range pending {
			r, ok := byID[reqs[i].ID]
			if !ok {
				return fmt.Errorf("cloud: $batch answered without response %q", reqs[i].ID)
			}
			out[i] = r
			if r.Status == http.StatusTooManyRequests || r.Status == http.StatusServiceUnavailable {
				ra, has := retryAfter(r.Headers["Retry-After"], time.Now())
				if !has {
					ra = backoff(attempt)
				}
				wait = max(wait, ra)
				again = append(again, i)
			}
		}
		// A request that failed only because its throttled dependency did
		// (424) goes again with it.
		retried := map[string]bool{}
		for _, i := range again {
			retried[reqs[i].ID] = true
		}
		var withDeps []int
		for _, i := range pending {
			if retried[reqs[i].ID] {
				withDeps = append(withDeps, i)
				continue
			}
			if out[i].Status == http.StatusFailedDependency {
				for _, d := range reqs[i].DependsOn {
					if retried[d] {
						retried[reqs[i].ID] = true
						withDeps = append(withDeps, i)
						break
					}
				}
			}
		}
		again = withDeps
		if len(again) == 0 || attempt >= c.retries || wait > c.maxWait {
			return nil
		}
		if c.onRetry != nil {
			c.onRetry(http.StatusTooManyRequests, wait)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
		pending = again
	}
}
