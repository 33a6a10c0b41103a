#!/usr/bin/env luajit
local big = 0x1p4
local ll = 1LL
local ull = 0xffULL
local im = 2i
local s = "a\z
           b"
goto skip
print("skipped")
::skip::
print(big, ll, ull, im, s)
