"""Scan-to-redeem (扫码核销): vouchers, group-buy coupons and pickup codes, offline and once."""
