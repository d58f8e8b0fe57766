"""Applications: intake, review, documents, invoices, vouchers, appointments and disbursement to the bank."""
