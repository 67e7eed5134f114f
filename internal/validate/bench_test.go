package validate

import "testing"

func BenchmarkDecode(b *testing.B) {
	bodies := []struct {
		name string
		body []byte
	}{
		{"pageView", []byte(`{"type":"pageView","name":"/pricing","url":"https://example.com/pricing?plan=pro&utm_source=newsletter&utm_medium=email","referrer":"https://news.ycombinator.com/item?id=1","screenWidth":1536,"screenHeight":864,"language":"en-GB","customData":{}}`)},
		{"custom", []byte(`{"type":"custom","name":"cta_click","url":"https://example.com/","referrer":"","screenWidth":390,"screenHeight":844,"language":"pt-BR","customData":{"productId":"abc-123","price":19.99,"tags":["a","b"],"duration":15}}`)},
	}
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.body)))
			for b.Loop() {
				if _, err := Decode(bb.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
