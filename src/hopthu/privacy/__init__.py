"""Personal data (R13.6, Luật Bảo vệ dữ liệu cá nhân 91/2025): one archive of everything held about a
person (`archive`). The directory's side (its record, the erasure, breaches) is
`directory.personaldata` and `directory.breaches`; the rules are `policy.erasure` and `policy.breach`.
"""
