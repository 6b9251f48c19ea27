// Package payments is the payments service: the PIX charge of each appointment and the
// money side of the booking saga. It creates the charge through the pix adapter, learns
// from provider notifications and periodic reconciliation that it was paid or failed,
// tells scheduling through durable jobs, and refunds — each step a River job committed
// with the state change it continues, so a crash anywhere resumes without paying,
// notifying or refunding twice.
package payments
