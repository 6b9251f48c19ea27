package main

import (
	"bytes"
	"strings"
	"testing"

	"healthcore/deploy/aws/apigateway"
)

func TestAPIGatewayExport_FlagsReachTheDocument(t *testing.T) {
	var out bytes.Buffer
	err := runAPIGatewayExport([]string{"-issuer=https://api.example.com", "-audience=healthcore-api", "-vpc-link-id=abc123",
		"-alb-listener-arn=arn:aws:elasticloadbalancing:sa-east-1:123456789012:listener/app/hc/1/2", "-server-name=alb.example.com",
		"-cors-origins=https://app.example.com, https://admin.example.com"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := apigateway.Export(apigateway.Options{Issuer: "https://api.example.com", Audience: "healthcore-api", VPCLinkID: "abc123",
		ListenerARN: "arn:aws:elasticloadbalancing:sa-east-1:123456789012:listener/app/hc/1/2", ServerName: "alb.example.com",
		CORSOrigins: []string{"https://app.example.com", "https://admin.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Error("the command's document differs from Export's for the same values")
	}
	if err := runAPIGatewayExport([]string{"-issuer=https://api.example.com"}, &out); err == nil ||
		!strings.Contains(err.Error(), "-alb-listener-arn, -audience, -vpc-link-id required") {
		t.Errorf("missing flags: %v", err)
	}
}
