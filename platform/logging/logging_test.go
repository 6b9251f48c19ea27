package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestNew_RedactsSecretsAndAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, slog.LevelInfo)
	ctx := WithRequestID(context.Background(), "req-123")
	log.InfoContext(ctx, "login", "password", "hunter22", "refresh_token", "abc", "cpf", "52998224725",
		slog.Group("req", "Authorization", "Bearer x"), "user_id", "u1")

	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("log line is not JSON: %v: %s", err, buf.String())
	}
	for _, k := range []string{"password", "refresh_token", "cpf"} {
		if got[k] != Redacted {
			t.Errorf("%s = %v, want redacted", k, got[k])
		}
	}
	if req := got["req"].(map[string]any); req["Authorization"] != Redacted {
		t.Errorf("nested Authorization = %v, want redacted", req["Authorization"])
	}
	if got["user_id"] != "u1" || got["request_id"] != "req-123" {
		t.Errorf("user_id=%v request_id=%v, want u1 and req-123", got["user_id"], got["request_id"])
	}
	if bytes.Contains(buf.Bytes(), []byte("hunter22")) || bytes.Contains(buf.Bytes(), []byte("52998224725")) {
		t.Errorf("secret leaked into log: %s", buf.String())
	}
}
