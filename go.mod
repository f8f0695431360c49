module github.com/headcount/headcount

go 1.26
