"""What recipients do with what was sent: tracked links (``links``), the clicks and
conversions the gateway reports (``endpoint``), the reads and clicks Telegram reports
(``receipts``), all recorded as interactions (``interactions``)."""
