"""Loans lifecycle items of issue 12, each through the real gateway: withdrawal, approval rules,
fiscal year at approval, recoveries after write-off, backdated entries, rescheduling history,
tranches, fee method and who may borrow on a network product."""
from harness import Cluster, check, eq
from test_loans import TODAY, _borrower, _product, _refused, _types


def _apply(c, pid, bid, prod, amount, key="social_services", **extra):
    body = {"person_id": pid, "business_id": bid, "product_id": prod, "amount_rials": amount}
    body.update(extra)
    return c.post("/v1/loans", body, key=key)


def test_withdraw_releases_person_and_cap():
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        prod = _product(c)
        pid, bid = _borrower(c, 1)
        r = _apply(c, pid, bid, prod, 400000000)
        eq(r.status, 201, f"{r}")
        lid = r.json["id"]
        _refused(c.post(f"/v1/loans/{lid}/withdraw", {}), 400, "missing_field")
        r = c.post(f"/v1/loans/{lid}/withdraw", {"reason": "she found the money at home"})
        eq(r.status, 200, f"withdraw an application: {r}")
        eq(r.json["status"], "withdrawn")
        eq(r.json["withdrawal"]["reason"], "she found the money at home")
        eq(r.json["withdrawal"]["date"], TODAY)
        _refused(c.post(f"/v1/loans/{lid}/withdraw", {"reason": "again"}), 409, "wrong_state")
        # an approved but undisbursed loan: blocks her, holds the cap, until withdrawn
        from test_loans import _approved
        lid = _approved(c, pid, bid, prod, 400000000)
        _refused(_apply(c, pid, bid, prod, 1000), 422, "active_loan_exists")
        r = c.post(f"/v1/loans/{lid}/withdraw", {"reason": "the loom was a gift"})
        eq(r.status, 200, f"withdraw an approved loan: {r}")
        eq(r.json["status"], "withdrawn")
        check("loans.loan.withdrawn" in _types(c), "withdrawn event")
        r = _apply(c, pid, bid, prod, 500000000)
        eq(r.status, 201, f"the whole cap is hers again: {r}")
        eq(c.get(f"/v1/loans?status=withdrawn").json["items"][0]["status"], "withdrawn")
        # a loan with money out is not withdrawn
        pid2, bid2 = _borrower(c, 2)
        lid = _approved(c, pid2, bid2, prod, 1000000)
        eq(c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 500000, "date": TODAY}).status, 200)
        _refused(c.post(f"/v1/loans/{lid}/withdraw", {"reason": "x"}), 409, "wrong_state")


def test_approval_honours_appraisal_and_four_eyes():
    from test_loans import _checker
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        checker = _checker(c)
        prod = _product(c)
        pid, bid = _borrower(c, 1)
        lid = _apply(c, pid, bid, prod, 100000000).json["id"]
        eq(c.post(f"/v1/loans/{lid}/appraise", {"appraiser": "Sara", "recommended_amount_rials": 0})
           .status, 200)
        _refused(c.post(f"/v1/loans/{lid}/approve", {}, key=checker), 422, "appraisal_negative")
        eq(c.get(f"/v1/loans/{lid}").json["status"], "appraised", "nothing changed:")
        eq(c.post(f"/v1/loans/{lid}/reject", {"reason": "not viable"}).status, 200)
        pid, bid = _borrower(c, 2)
        lid = _apply(c, pid, bid, prod, 100000000).json["id"]
        r = c.post(f"/v1/loans/{lid}/appraise", {"appraiser": "Sara",
                                                 "recommended_amount_rials": 60000000})
        eq(r.status, 200)
        check(r.json["appraisal"]["appraised_by"], f"the appraising key is kept: {r.json}")
        # maker-checker: neither the key that applied nor the one that appraised approves
        _refused(c.post(f"/v1/loans/{lid}/approve", {}), 422, "same_approver")
        _refused(c.post(f"/v1/loans/{lid}/approve", {"amount_rials": 60000001}, key=checker), 422,
                 "over_recommended")
        _refused(c.post(f"/v1/loans/{lid}/approve", {"date": "2024-06-14"}, key=checker), 422,
                 "date_out_of_order")
        r = c.post(f"/v1/loans/{lid}/approve", {}, key=checker)
        eq(r.status, 200, f"{r}")
        eq(r.json["approved_rials"], 60000000, "the recommendation is the default:")
        eq(r.json["approved_by"], "checker")
        # a key that applied but did not appraise may not approve either
        pid, bid = _borrower(c, 3)
        lid = _apply(c, pid, bid, prod, 1000000, key=checker).json["id"]
        eq(c.post(f"/v1/loans/{lid}/appraise", {"appraiser": "S", "recommended_amount_rials": 1000000})
           .status, 200)
        _refused(c.post(f"/v1/loans/{lid}/approve", {}, key=checker), 422, "same_approver")


def test_approval_under_the_current_fiscal_year_product():
    from test_loans import _checker, _restart_loans
    with Cluster(["registry", "loans"], clock="2024-03-10") as c:   # 1402/12/20
        checker = _checker(c)
        old = _product(c)
        eq(c.get(f"/v1/loan-products/{old}").json["fiscal_year"], 1402)
        pid, bid = _borrower(c, 1)
        lid = _apply(c, pid, bid, old, 300000000).json["id"]
        eq(c.post(f"/v1/loans/{lid}/appraise", {"appraiser": "S",
                                                "recommended_amount_rials": 300000000}).status, 200)
        _restart_loans(c, "2024-03-25")   # 1403/01/06: a new fiscal year, caps cut by 75%
        new = _product(c, cap_rials=125000000)
        r = c.post(f"/v1/loans/{lid}/approve", {}, key=checker)
        _refused(r, 422, "product_not_current")
        eq(r.json["current_product_id"], new, f"{r.json}")
        _refused(c.post(f"/v1/loans/{lid}/approve", {"product_id": new}, key=checker), 422, "over_cap")
        r = c.post(f"/v1/loans/{lid}/approve", {"product_id": new, "amount_rials": 125000000},
                   key=checker)
        eq(r.status, 200, f"{r}")
        eq((r.json["product_id"], r.json["fiscal_year"], r.json["terms"]["cap_rials"]),
           (new, 1403, 125000000))
        eq([i["id"] for i in c.get(f"/v1/loans?product_id={new}").json["items"]], [lid])
        eq(c.get(f"/v1/loans?product_id={old}").json["items"], [])


def test_recoveries_after_write_off_in_portfolio():
    from test_loans import _approved, _restart_loans
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        prod = _product(c, fee_rate_bp=0)
        pid, bid = _borrower(c, 1)
        lid = _approved(c, pid, bid, prod, 10000000)
        eq(c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 10000000, "date": TODAY}).status, 200)
        _refused(c.post(f"/v1/loans/{lid}/recoveries", {"amount_rials": 1, "date": TODAY},
                        key="operator"), 409, "wrong_state")
        eq(c.post(f"/v1/loans/{lid}/write-off", {"reason": "left"}, key="operator").status, 200)
        _restart_loans(c, "2024-06-20")
        r = c.post(f"/v1/loans/{lid}/recoveries", {"amount_rials": 3000000, "date": "2024-06-18",
                                                   "reference": "rc-1"})
        eq(r.status, 201, f"{r}")
        eq(r.json["recovered_rials"], 3000000)
        eq(r.json["recoveries"][0]["reference"], "rc-1")
        eq(r.json["status"], "written_off", "a recovery does not revive the loan:")
        _refused(c.post(f"/v1/loans/{lid}/recoveries", {"amount_rials": 7000001, "date": "2024-06-20"}),
                 422, "over_outstanding")
        _refused(c.post(f"/v1/loans/{lid}/recoveries", {"amount_rials": 1, "date": "2024-06-14"}),
                 422, "date_out_of_order")
        _refused(c.post(f"/v1/loans/{lid}/recoveries", {"amount_rials": 1, "date": "2024-06-21"}),
                 422, "future_date")
        _refused(c.post(f"/v1/loans/{lid}/recoveries", {"amount_rials": 1, "date": "2024-06-20",
                                                        "reference": "rc-1"}),
                 409, "duplicate_reference")
        check("loans.loan.recovery_recorded" in _types(c), "recovery event")
        t = c.get("/v1/loans/portfolio").json["total"]
        eq((t["written_off_rials"], t["recovered_rials"]), (10000000, 3000000))
        eq(c.get("/v1/loans/portfolio?as_of=2024-06-17").json["total"]["recovered_rials"], 0)


def test_backdated_repayment_reallocates_later_ones_and_paper_applications():
    from test_loans import _checker
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        checker = _checker(c)
        prod = _product(c, fee_rate_bp=400, fiscal_year=1402)
        pid, bid = _borrower(c, 1)
        _refused(_apply(c, pid, bid, prod, 12000000, applied_on="2024-06-16"), 422, "future_date")
        r = _apply(c, pid, bid, prod, 12000000, applied_on="2024-01-05")   # a paper loan
        eq(r.status, 201, f"{r}")
        eq((r.json["applied_on"], r.json["applied_on_jalali"]), ("2024-01-05", "1402/10/15"))
        lid = r.json["id"]
        _refused(c.post(f"/v1/loans/{lid}/appraise", {"appraiser": "S", "date": "2024-01-04",
                                                      "recommended_amount_rials": 12000000}),
                 422, "date_out_of_order")
        eq(c.post(f"/v1/loans/{lid}/appraise", {"appraiser": "S", "date": "2024-01-06",
                                                "recommended_amount_rials": 12000000}).status, 200)
        eq(c.post(f"/v1/loans/{lid}/approve", {"date": "2024-01-07"}, key=checker).status, 200)
        eq(c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 12000000, "date": "2024-01-10"})
           .status, 200)
        for ref, amount, date in (("b", 500000, "2024-03-01"), ("c", 500000, "2024-04-01")):
            eq(c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": amount, "date": date,
                                                      "reference": ref}).status, 201)
        before = c.get(f"/v1/loans/{lid}?as_of=2024-03-15").json
        _refused(c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": 1, "date": "2024-01-09"}),
                 422, "date_out_of_order")
        # the receipt of 10 Feb turns up late
        r = c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": 100000, "date": "2024-02-10",
                                                   "reference": "a"})
        eq(r.status, 201, f"a backdated receipt is booked: {r}")
        reps = r.json["repayments"]
        eq([x["reference"] for x in reps], ["a", "b", "c"], "in date order:")
        eq([(x["fee_rials"], x["principal_rials"]) for x in reps],
           [(40000, 60000), (0, 500000), (40000, 460000)], "later allocations re-derived:")
        eq(sum(x["fee_rials"] + x["principal_rials"] for x in reps), r.json["repaid_rials"])
        eq(r.json["repaid_rials"], 1100000)
        ev = [e for e in c.events_since("loans") if e["type"] == "loans.loan.repayment_recorded"][-1]
        eq(ev["data"]["reference"], "a")
        eq([(x["reference"], x["fee_rials"], x["principal_rials"]) for x in ev["data"]["reallocated"]],
           [("b", 0, 500000), ("c", 40000, 460000)], "the event names the changed allocations:")
        after = c.get(f"/v1/loans/{lid}?as_of=2024-03-15").json
        eq(after["paid_rials"], before["paid_rials"] + 100000)


def _paper_loan(c, n, prod, amount, disbursed="2024-01-10", term=12):
    """A loan applied for, appraised and approved in early January 2024 (fiscal year 1402) and
    disbursed on `disbursed`, entered later from paper."""
    from test_loans import _checker
    pid, bid = _borrower(c, n)
    r = _apply(c, pid, bid, prod, amount, applied_on="2024-01-05", term_months=term)
    eq(r.status, 201, f"{r}")
    lid = r.json["id"]
    eq(c.post(f"/v1/loans/{lid}/appraise", {"appraiser": "S", "date": "2024-01-06",
                                            "recommended_amount_rials": amount}).status, 200)
    eq(c.post(f"/v1/loans/{lid}/approve", {"date": "2024-01-07"}, key=_checker(c)).status, 200)
    if disbursed:
        r = c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": amount, "date": disbursed})
        eq(r.status, 200, f"{r}")
    return lid


FIGURES = ("days_past_due", "aging_bucket", "due_rials", "overdue_rials", "paid_rials",
           "outstanding_principal_rials", "outstanding_fee_rials")


def test_reschedule_keeps_history_and_is_restructured():
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        prod = _product(c, fee_rate_bp=400, fiscal_year=1402)
        late = _paper_loan(c, 1, prod, 12000000)
        fine = _paper_loan(c, 2, prod, 12000000, disbursed="2024-06-01")
        before = c.get(f"/v1/loans/{late}?as_of=2024-04-01").json
        eq(before["days_past_due"], 52)
        port_before = c.get("/v1/loans/portfolio?as_of=2024-04-01").json["total"]
        _refused(c.post(f"/v1/loans/{late}/reschedule", {"term_months": 6, "reason": "flood"}),
                 403, "forbidden")
        _refused(c.post(f"/v1/loans/{late}/reschedule", {"term_months": 6}, key="operator"),
                 400, "missing_field")
        _refused(c.post(f"/v1/loans/{fine}/reschedule", {"term_months": 6, "reason": "x"},
                        key="operator"), 422, "not_overdue")
        r = c.post(f"/v1/loans/{late}/reschedule", {"term_months": 6, "reason": "the flood took "
                                                    "her loom"}, key="operator")
        eq(r.status, 200, f"{r}")
        eq((r.json["status"], r.json["restructured"]), ("rescheduled", True))
        eq(r.json["reschedules"][0]["reason"], "the flood took her loom")
        eq(r.json["days_past_due"], 0)
        after = c.get(f"/v1/loans/{late}?as_of=2024-04-01").json
        eq({k: after[k] for k in FIGURES}, {k: before[k] for k in FIGURES},
           "every figure as of a date before the rescheduling is unchanged:")
        eq(after["schedule"], before["schedule"], "and so is the schedule then in force:")
        eq(after.get("restructured"), False, "not yet restructured on 2024-04-01:")
        port_after = c.get("/v1/loans/portfolio?as_of=2024-04-01").json["total"]
        eq(port_after, port_before, "the portfolio as of then is unchanged:")
        t = c.get("/v1/loans/portfolio").json["total"]
        eq((t["restructured_loans"], t["restructured_outstanding_principal_rials"],
            t["restructured_par30_rials"]), (1, 12000000, 0))
        eq(port_before["restructured_outstanding_principal_rials"], 0)


def test_tranches_fall_due_and_schedule_rederived():
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        prod = _product(c, fee_rate_bp=400, fiscal_year=1402, fee_method="flat")
        lid = _paper_loan(c, 1, prod, 100000000, disbursed=None)
        r = c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 60000000, "date": "2024-01-10"})
        eq(r.status, 200, f"{r}")
        eq(r.json["status"], "disbursing")
        s = r.json["schedule"]
        eq(len(s), 12, "the first tranche starts falling due:")
        eq((s[0]["due_date"], s[1]["due_date"]), ("2024-02-09", "2024-03-10"))
        eq(sum(i["principal_rials"] for i in s), 60000000)
        eq(sum(i["fee_rials"] for i in s), 2400000)
        a = c.get(f"/v1/loans/{lid}?as_of=2024-04-01").json
        eq((a["days_past_due"], a["outstanding_principal_rials"]), (52, 60000000))
        p = c.get("/v1/loans/portfolio?as_of=2024-04-01").json["total"]
        eq(p["par30_rials"], 60000000, "a partly disbursed loan is in PAR30:")
        r = c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": 5200000, "date": "2024-02-09"})
        eq(r.status, 201, f"a partly disbursed loan is repaid: {r}")
        r = c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 40000000, "date": "2024-03-15"})
        eq(r.status, 200, f"{r}")
        eq(r.json["status"], "disbursed")
        s = r.json["schedule"]
        eq([(i["principal_rials"], i["fee_rials"]) for i in s[:3]],
           [(5000000, 200000), (5000000, 200000), (9000000, 360000)],
           "installments already due stay; the rest carry the whole amount:")
        eq(sum(i["principal_rials"] for i in s), 100000000)
        eq(sum(i["fee_rials"] for i in s), 4000000)
        eq(r.json["fee_rials"], 4000000)
        eq([i["due_date"] for i in s], [i["due_date"] for i in a["schedule"]], "same due dates:")
        eq(r.json["schedule_history"][0]["change"], "tranche")
        old = c.get(f"/v1/loans/{lid}?as_of=2024-03-01").json
        eq(sum(i["principal_rials"] for i in old["schedule"]), 60000000, "the schedule then:")
        # close-tranches: the rest will not be paid out
        lid2 = _paper_loan(c, 2, prod, 100000000, disbursed=None)
        _refused(c.post(f"/v1/loans/{lid2}/close-tranches", {}), 409, "wrong_state")
        eq(c.post(f"/v1/loans/{lid2}/disburse", {"amount_rials": 30000000, "date": "2024-01-10"})
           .status, 200)
        r = c.post(f"/v1/loans/{lid2}/close-tranches", {})
        eq(r.status, 200, f"{r}")
        eq((r.json["status"], r.json["approved_rials"], r.json["disbursed_rials"]),
           ("disbursed", 30000000, 30000000))
        eq(r.json["tranches_closed"]["previous_approved_rials"], 100000000)
        _refused(c.post(f"/v1/loans/{lid2}/disburse", {"amount_rials": 1, "date": TODAY}), 409,
                 "wrong_state")
        _refused(c.post(f"/v1/loans/{lid}/close-tranches", {}), 409, "wrong_state")
        check("loans.loan.tranches_closed" in _types(c), "event")


def test_fee_method_declining_default_and_early_payoff():
    with Cluster(["registry", "loans"], clock=TODAY) as c:
        r = c.post("/v1/loan-products", {"name": "too dear", "kind": "individual",
                                         "fee_rate_bp": 2401})
        eq(r.status, 400, f"a fee above 24% a year is refused: {r}")
        eq(r.json["field"], "fee_rate_bp")
        r = c.post("/v1/loan-products", {"name": "karmozd", "kind": "individual",
                                         "fee_rate_bp": 1200, "fiscal_year": 1402})
        eq(r.status, 201, f"{r}")
        eq(r.json["fee_method"], "declining", "declining is the default:")
        prod = r.json["id"]
        flat = _product(c, name="flat", fee_rate_bp=1200, fiscal_year=1402, fee_method="flat")
        lid = _paper_loan(c, 1, prod, 12000000, disbursed=None)
        g = c.get(f"/v1/loans/{lid}").json
        eq(g["fee_rials"], 780000, "1% a month on 12M, 11M, ... 1M:")
        eq(g["outstanding_rials"], 0, "nothing is owed before a payout:")
        r = c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 12000000, "date": "2024-01-10"})
        eq([i["fee_rials"] for i in r.json["schedule"]],
           [120000, 110000, 100000, 90000, 80000, 70000, 60000, 50000, 40000, 30000, 20000, 10000])
        before = c.get(f"/v1/loans/{lid}?as_of=2024-01-09").json
        eq((before["outstanding_rials"], before["outstanding_fee_rials"]), (0, 0),
           "nothing is owed before the tranche is paid out:")
        lf = _paper_loan(c, 2, flat, 12000000)
        eq(c.get(f"/v1/loans/{lf}").json["fee_rials"], 1440000)
        eq(c.get(f"/v1/loans/{lf}?as_of=2024-01-09").json["outstanding_rials"], 0)
        # early payoff on 2024-06-15: five installments due (fees 500,000), six days of the
        # sixth period (2024-06-09 .. 2024-07-10, 31 days) on 7M: floor(70,000 * 6 / 31)
        g = c.get(f"/v1/loans/{lid}").json
        eq(g["payoff_rials"], 12000000 + 500000 + 13548)
        eq(g["outstanding_rials"], 12780000)
        _refused(c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": 12513549, "date": TODAY}),
                 422, "over_outstanding")
        r = c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": 12513548, "date": TODAY})
        eq(r.status, 201, f"{r}")
        eq(r.json["status"], "closed", "the payoff closes the loan:")
        eq(r.json["fee_rials"], 513548, "only the fee accrued to the payoff date:")
        eq(sum(i["fee_rials"] for i in r.json["schedule"]), 513548)
        rep = r.json["repayments"][-1]
        eq((rep["fee_rials"], rep["principal_rials"]), (513548, 12000000))
        eq(r.json["schedule_history"][-1]["change"], "payoff")
        # the flat loan owes its whole fee on payoff (no rebate)
        g = c.get(f"/v1/loans/{lf}").json
        eq(g["payoff_rials"], g["outstanding_rials"])
        eq(g["outstanding_rials"], 13440000)


def test_network_product_only_for_leads_and_supporters_caps_per_kind():
    from test_loans import _checker
    with Cluster(["registry", "networks", "loans"], clock=TODAY) as c:
        checker = _checker(c)
        ind = _product(c, name="individual", cap_rials=500000000)
        net = _product(c, name="network", kind="network", cap_rials=2500000000)
        anyone, b_any = _borrower(c, 1)
        lead, b_lead = _borrower(c, 2)
        supporter, b_sup = _borrower(c, 3)
        eq(c.patch(f"/v1/businesses/{b_sup}", {"licence": {"type": "supporter", "number": "S-1"}})
           .status, 200)
        r = c.post("/v1/networks", {"name": "شبکه پوشاک", "field": "industry", "activity": "clothing",
                                    "lead_person_id": lead, "lead_business_id": b_lead})
        eq(r.status, 201, f"{r}")
        network = r.json["id"]
        r = _apply(c, anyone, b_any, net, 100000000)
        _refused(r, 422, "not_eligible_for_product")
        eq(r.json["field"], "product_id")
        r = _apply(c, lead, b_lead, net, 2000000000)
        eq(r.status, 201, f"the lead of an active network may: {r}")
        r = _apply(c, supporter, b_sup, net, 2500000000)
        eq(r.status, 201, f"a business with a supporter licence may: {r}")
        # caps per kind: a network loan does not eat the individual cap, nor the reverse
        lid = r.json["id"]
        eq(c.post(f"/v1/loans/{lid}/appraise", {"appraiser": "S",
                                                "recommended_amount_rials": 2500000000}).status, 200)
        eq(c.post(f"/v1/loans/{lid}/approve", {}, key=checker).status, 200)
        eq(c.post(f"/v1/loans/{lid}/disburse", {"amount_rials": 2500000000, "date": TODAY}).status, 200)
        ev = c.post(f"/v1/loans/{lid}/repayments", {"amount_rials": c.get(f"/v1/loans/{lid}").json
                                                    ["payoff_rials"], "date": TODAY})
        eq(ev.json["status"], "closed", f"{ev}")
        r = _apply(c, supporter, b_sup, ind, 500000000)
        eq(r.status, 201, f"the individual cap is whole after a network loan: {r}")
        eq(c.post(f"/v1/loans/{r.json['id']}/withdraw", {"reason": "x"}).status, 200)
        _refused(_apply(c, supporter, b_sup, net, 1), 422, "over_cap")
        # a network suspended: its lead may no longer take a network loan
        eq(c.post(f"/v1/loans/{c.get('/v1/loans?person_id=' + lead).json['items'][0]['id']}/withdraw",
                  {"reason": "x"}).status, 200)
        eq(c.patch(f"/v1/networks/{network}", {"status": "suspended"}).status, 200)
        _refused(_apply(c, lead, b_lead, net, 1000000), 422, "not_eligible_for_product")
        eq(c.patch(f"/v1/networks/{network}", {"status": "active"}).status, 200)
        eq(_apply(c, lead, b_lead, net, 1000000).status, 201)
