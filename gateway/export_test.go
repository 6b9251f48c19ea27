package gateway

// HTTPRule is httpRule for the external tests: the method and path template of a
// google.api.http rule.
var HTTPRule = httpRule
