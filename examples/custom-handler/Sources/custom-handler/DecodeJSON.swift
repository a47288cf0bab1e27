import Foundation
import HighwaterHost

/// Decodes the request's JSON body with Foundation, as an API endpoint does with each payload it accepts.
struct DecodeJSON: Handler {
    struct Document: Decodable {
        var text: String
    }

    func respond(to request: Request) throws -> Response {
        let document = try JSONDecoder().decode(Document.self, from: Data(request.body))
        return Response(text: "decoded \(document.text.utf8.count) characters\n")
    }
}
