import HighwaterHost

/// Answers every request with its path and number; what it allocates is all Highwater sees of it.
struct Hello: Handler {
    func respond(to request: Request) throws -> Response {
        Response(text: "hello from \(request.path), request #\(request.index)\n")
    }
}

var routes = Routes()
routes.add("/work", Hello())
Host.main(routes)
