module github.com/cxscore/cxscore/examples

go 1.26

replace github.com/cxscore/cxscore => ../
