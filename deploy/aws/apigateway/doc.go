// Package apigateway makes the import document of an AWS API Gateway HTTP API that
// fronts the gateway (`healthcore apigateway-export`): the gateway's OpenAPI 3 document
// with, on every route, a private integration through a VPC link to the ALB's
// listener, and a JWT authorizer, verifying identity's RS256 tokens by the issuer's
// OpenID Connect discovery, on the routes whose proto access rule needs a token.
// openapi.json is the document for the placeholder values of Example.
package apigateway
