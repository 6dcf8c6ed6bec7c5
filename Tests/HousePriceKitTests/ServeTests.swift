import Foundation
import StrictCSV
import Testing
import TestSupport

/// `house-price serve` on an ephemeral loopback port: JSON and streamed CSV prices equal the
/// command line's, the schema, and bad input as 4xx.
@Suite("house-price serve", .serialized)
struct HousePriceServeTests {
    let rows = """
    longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,households,median_income,median_house_value,ocean_proximity
    -122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3252,452600.0,NEAR BAY
    -122.22,37.86,21.0,7099.0,,2401.0,1138.0,8.3014,358500.0,NEAR BAY
    -118.3,34.1,30.0,2000.0,400.0,1200.0,380.0,3.1,,<1H OCEAN
    -117.1,32.7,15.0,1500.0,300.0,900.0,280.0,2.5,180000.0,ON THE MOON

    """

    @Test("JSON rows and a streamed CSV are priced exactly as `house-price predict` prices them")
    func prices() async throws {
        let directory = temporaryDirectory()
        write(rows, to: directory + "/rows.csv")
        let command = try runHousePrice(["predict", directory + "/rows.csv", "--model", "data/models/house-price.safetensors"])
        let expected = try CSVTable.parse(Array(command.stdout.utf8), name: "cli")
        let server = try ServerProcess("house-price", ["--model", "data/models/house-price.safetensors"])

        let csv = try await server.request("/v1/predict", method: "POST", body: Data(rows.utf8), contentType: "text/csv")
        #expect(csv.status == 200 && csv.headers["content-type"]?.hasPrefix("text/csv") == true)
        #expect(String(decoding: csv.body, as: UTF8.self) == command.stdout)

        let table = try CSVTable.parse(Array(rows.utf8), name: "rows")
        let objects: [[String: Any]] = table.rows.map { row in
            var object: [String: Any] = [:]
            for (column, value) in zip(table.header, row) where column != "median_house_value" {
                // Numbers as JSON numbers, gaps as null, texts as strings: all as a client would send them.
                object[column] = value.isEmpty ? NSNull() : (Double(value).map { $0 as Any } ?? value)
            }
            return object
        }
        let json = try await server.request("/v1/predict", method: "POST", body: try JSONSerialization.data(withJSONObject: objects),
                                            contentType: "application/json")
        #expect(json.status == 200)
        let answer = ServerProcess.json(json.body)
        let prices = try #require(answer["predictions"] as? [Double])
        #expect(prices.map { String(format: "%.2f", $0) } == expected.rows.map { $0.last! })
        #expect((answer["warnings"] as? [String])?.first?.contains("\"ON THE MOON\"") == true)
    }

    @Test("A European spreadsheet's CSV is priced like its twin; ?delimiter, ?decimal and the charset say otherwise")
    func europeanDialect() async throws {
        let server = try ServerProcess("house-price", ["--model", "data/models/house-price.safetensors"])
        // An income with three decimals reads two ways once its point is a comma (8,325: 8.325 or 8325).
        let twin = rows.replacingOccurrences(of: "8.3252", with: "8.325")
        // Semicolons, decimal commas and Windows-1252 bytes (a `ü` in a category the model has not seen).
        let europeanText = twin.replacingOccurrences(of: ",", with: ";").replacingOccurrences(of: ".", with: ",")
            .replacingOccurrences(of: "ON THE MOON", with: "AM SÜDPOL")
        let european = Data(europeanText.unicodeScalars.map { UInt8($0.value) })
        func predict(_ body: Data, query: String = "", type: String = "text/csv") async throws -> (status: Int, text: String) {
            let response = try await server.request("/v1/predict" + query, method: "POST", body: body, contentType: type)
            return (response.status, String(decoding: response.body, as: UTF8.self))
        }
        let us = try await predict(Data(twin.utf8))
        let eu = try await predict(european)
        #expect(us.status == 200 && eu.status == 200, "\(us.text) \(eu.text)")
        let usTable = try CSVTable.parse(Array(us.text.utf8), name: "us")
        let euTable = try CSVTable.parse(Array(eu.text.utf8), name: "eu")
        // Answered in UTF-8 with the body's delimiter and decimal separator, its fields as they came.
        #expect(euTable.dialect == CSVDialect(delimiter: UInt8(ascii: ";"), decimalSeparator: .comma))
        #expect(euTable.rows.last?[9] == "AM SÜDPOL")
        #expect(euTable.rows.map { $0.last!.replacingOccurrences(of: ",", with: ".") } == usTable.rows.map { $0.last! })
        // Told so, the server reads 8,325 as 8325, or the fields as comma-separated.
        let points = try await predict(european, query: "?decimal=point")
        #expect(points.status == 200 && points.text != eu.text, "\(points.text)")
        let commas = try await predict(european, query: "?delimiter=comma&decimal=auto")
        #expect(commas.status == 400 && commas.text.contains("fields, but the header has 1"), "\(commas.text)")
        #expect(try await predict(european, query: "?delimiter=semicolon&decimal=comma").text == eu.text)
        // The charset decides the text: Windows-1252 bytes are not UTF-8, and UTF-8's Ü (C3 9C) read
        // as Windows-1252 is two letters, Ãœ.
        let strict = try await predict(european, type: "text/csv; charset=utf-8")
        #expect(strict.status == 400 && strict.text.contains("not valid UTF-8"), "\(strict.text)")
        #expect(try await predict(european, type: "text/csv; charset=\"windows-1252\"").text == eu.text)
        let utf8Body = Data(europeanText.utf8)
        #expect(try await predict(utf8Body).text == eu.text)
        let latin = try await predict(utf8Body, type: "text/csv;charset=ISO-8859-1")
        #expect(latin.status == 200 && latin.text.contains("AM SÃœDPOL"), "\(latin.text)")
        // Values it does not know are the client's to fix.
        let colon = try await predict(european, query: "?delimiter=colon")
        #expect(colon.status == 400 && colon.text.contains("delimiter must be auto, comma, semicolon, tab or bar"), "\(colon.text)")
        let decimal = try await predict(european, query: "?decimal=dot")
        #expect(decimal.status == 400 && decimal.text.contains("decimal must be auto, point or comma"), "\(decimal.text)")
        let charset = try await predict(european, type: "text/csv; charset=koi8-r")
        #expect(charset.status == 415 && charset.text.contains("charset koi8-r is not read"), "\(charset.text)")
    }

    @Test("The model's schema lists every input column with its kind and median or categories")
    func schema() async throws {
        let server = try ServerProcess("house-price", ["--model", "data/models/house-price.safetensors"])
        let model = ServerProcess.json(try await server.request("/v1/model").body)
        let schema = try #require(model["schema"] as? [String: Any])
        #expect(schema["target"] as? String == "median_house_value")
        let columns = try #require(schema["columns"] as? [[String: Any]])
        #expect(columns.count == 9)
        #expect(columns.first { $0["name"] as? String == "ocean_proximity" }?["categories"] as? [String] != nil)
        #expect(columns.first { $0["name"] as? String == "median_income" }?["median"] as? Double != nil)
        let page = String(decoding: try await server.request("/").body, as: UTF8.self)
        #expect(page.contains("fetch(\"/v1/model\")"))
    }

    @Test("Bad input is a 4xx with {\"error\": ...}: missing column, malformed JSON, wrong types, too many rows, bad values")
    func badInput() async throws {
        let server = try ServerProcess("house-price", ["--model", "data/models/house-price.safetensors", "--max-rows", "2"])
        func expectError(_ body: String, type: String, status: Int, containing text: String) async throws {
            let response = try await server.request("/v1/predict", method: "POST", body: Data(body.utf8), contentType: type)
            #expect(response.status == status, "\(body.prefix(60)): \(String(decoding: response.body, as: UTF8.self))")
            let error = ServerProcess.json(response.body)["error"] as? String
            #expect(error?.contains(text) == true, "\(error ?? String(decoding: response.body, as: UTF8.self))")
        }
        let row = #"{"longitude":-122.2,"latitude":37.8,"housing_median_age":41,"total_rooms":880,"total_bedrooms":129,"population":322,"households":126,"median_income":8.3,"ocean_proximity":"NEAR BAY"}"#
        try await expectError(#"[{"longitude":1}]"#, type: "application/json", status: 400, containing: "row 1 lacks column")
        try await expectError("[{oops", type: "application/json", status: 400, containing: "must be a JSON array of row objects")
        try await expectError("{}", type: "application/json", status: 400, containing: "must be a JSON array")
        try await expectError("[]", type: "application/json", status: 400, containing: "holds no row")
        try await expectError("[\(row),\(row),\(row)]", type: "application/json", status: 413, containing: "at most 2 per JSON request")
        try await expectError("[" + row.replacingOccurrences(of: "\"households\":126", with: "\"households\":true") + "]",
                              type: "application/json", status: 400, containing: "row 1, column \"households\"")
        try await expectError("[" + row.replacingOccurrences(of: "\"households\":126", with: "\"households\":\"many\"") + "]",
                              type: "application/json", status: 400, containing: "row 1: column \"households\": \"many\" is not a number")
        try await expectError("a,b\n1,2\n", type: "text/csv", status: 400, containing: "needs column")
        try await expectError("x", type: "application/xml", status: 415, containing: "send application/json")
    }
}
