import Foundation
import Testing
@_exported import TestSupport
import StrictCSV
import HousePriceKit
import Backprop

func table(_ text: String) throws -> CSVTable { try CSVTable.parse(Array(text.utf8), name: "t.csv") }

/// A made-up house-sales schema unlike California's: an id, many categorical columns with NA,
/// a numeric column with gaps, and prices skewed enough that a log target helps.
/// price = exp(11 + 0.12·quality + 0.0004·area + neighbourhood effect + garage effect + noise).
func syntheticSales(rows: Int, seed: UInt64) -> String {
    var random = RandomGenerator(seed: seed)
    let neighbourhoods = ["Oak Park", "Riverside", "Hilltop", "Old Town", "Harbor, East", "Meadow"]
    let effects: [Double] = [0.3, -0.2, 0.5, 0.0, 0.15, -0.35]
    var text = "Id,Neighborhood,OverallQual,GrLivArea,GarageType,LotFrontage,Street,SalePrice\r\n"
    for id in 1...rows {
        let n = random.index(below: neighbourhoods.count)
        let quality = 1 + random.index(below: 10)
        let area = 500 + Double(random.index(below: 3500))
        let garage = ["Attchd", "Detchd", "NA", "BuiltIn"][random.index(below: 4)]
        let garageEffect = garage == "NA" ? -0.15 : (garage == "BuiltIn" ? 0.1 : 0)
        let frontage = random.index(below: 5) == 0 ? "NA" : String(20 + random.index(below: 100))
        let street = random.index(below: 20) == 0 ? "Grvl" : "Pave"
        let logPrice = 11 + 0.12 * Double(quality) + 0.0004 * area + effects[n] + garageEffect + 0.05 * Double(random.normal())
        let name = neighbourhoods[n].contains(",") ? "\"\(neighbourhoods[n])\"" : neighbourhoods[n]
        text += "\(id),\(name),\(quality),\(Int(area)),\(garage),\(frontage),\(street),\(Int(exp(logPrice)))\r\n"
    }
    return text
}

/// Expects `body` to throw a `HousePriceError` whose one-line description is exactly `message`.
func expectError(_ message: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    let error = #expect(throws: HousePriceError.self, sourceLocation: sourceLocation) { try body() }
    #expect(error?.description == message, sourceLocation: sourceLocation)
}
