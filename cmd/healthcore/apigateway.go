package main

import (
	"flag"
	"io"
	"os"

	"healthcore/deploy/aws/apigateway"
	"healthcore/internal/catalog"
)

// runAPIGatewayExport writes the import document of an AWS API Gateway HTTP API in
// front of the gateway (see package apigateway) to -o, or to out.
func runAPIGatewayExport(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("apigateway-export", flag.ContinueOnError)
	var o apigateway.Options
	var cors, file string
	fs.StringVar(&o.Issuer, "issuer", "", "the tokens' issuer, -identity.issuer: the API's public https URL, e.g. https://api.example.com (required)")
	fs.StringVar(&o.Audience, "audience", "", "the tokens' audience, -identity.audience (required)")
	fs.StringVar(&o.VPCLinkID, "vpc-link-id", "", "id of the HTTP API VPC link into the ALB's subnets (required)")
	fs.StringVar(&o.ListenerARN, "alb-listener-arn", "", "ARN of the ALB listener the routes integrate with (required)")
	fs.StringVar(&o.ServerName, "server-name", "", "host name on the ALB listener's certificate, checked by API Gateway (HTTPS listener; empty for HTTP)")
	fs.StringVar(&cors, "cors-origins", "", "comma-separated browser origins API Gateway answers preflight requests for (the gateway's -gateway.cors-origins)")
	fs.StringVar(&file, "o", "", "file to write (default standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.CORSOrigins = catalog.SplitList(cors)
	doc, err := apigateway.Export(o)
	if err != nil {
		return err
	}
	if file != "" {
		return os.WriteFile(file, doc, 0o644)
	}
	_, err = out.Write(doc)
	return err
}
