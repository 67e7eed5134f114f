package pipeline

import "context"

// orderKey names an order: an order id is unique within its website.
type orderKey struct{ website, order string }

// resolveOrders finds which orders of the pending events already have
// their revenue stored, or in a chunk that is not committed yet: an
// order's revenue is written once, whichever source (browser or server)
// sent it first, so that a purchase reported by both counts once.
// Sessionizing then marks each order it writes revenue for (addEventRow).
func (w *worker) resolveOrders(ctx context.Context) error {
	w.paid = map[orderKey]bool{}
	for _, c := range w.unsent {
		for _, r := range c.roles {
			if r.kind == roleEvent && r.paid && r.event.OrderID != "" {
				w.paid[orderKey{r.event.WebsiteID, r.event.OrderID}] = true
			}
		}
	}
	ask := map[string][]string{} // website → order ids
	seen := map[orderKey]bool{}
	for i := range w.pending {
		ev := &w.pending[i]
		k := orderKey{ev.WebsiteID, ev.OrderID}
		if ev.RevenueAmount == 0 || ev.OrderID == "" || w.paid[k] || seen[k] {
			continue
		}
		seen[k] = true
		ask[ev.WebsiteID] = append(ask[ev.WebsiteID], ev.OrderID)
	}
	for website, ids := range ask {
		found, err := w.p.cfg.Store.PaidOrders(ctx, website, ids)
		if err != nil {
			return err
		}
		for id := range found {
			w.paid[orderKey{website, id}] = true
		}
	}
	return nil
}

// addRevenue puts ev's revenue and order id in its events row data,
// unless the order's revenue is already stored (a duplicate order: the
// event is stored without revenue, so its goal conversion still counts).
func (w *worker) addRevenue(data map[string]any, ev *Event) (paid, duplicate bool) {
	if ev.OrderID != "" {
		data["orderId"] = ev.OrderID
	}
	if ev.RevenueAmount == 0 {
		return false, false
	}
	if ev.OrderID != "" {
		k := orderKey{ev.WebsiteID, ev.OrderID}
		if w.paid[k] {
			return false, true
		}
		w.paid[k] = true
	}
	data["revenueAmount"], data["revenueCurrency"] = ev.RevenueAmount, ev.RevenueCurrency
	return true, false
}
