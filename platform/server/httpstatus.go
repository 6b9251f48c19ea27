package server

// HTTPStatusHeader is the response header by which an RPC asks the REST gateway for
// an HTTP status other than 200 on success (e.g. "202" for a request accepted whose
// outcome arrives by e-mail). The gateway sets the status and drops the header.
const HTTPStatusHeader = "X-Http-Code"
