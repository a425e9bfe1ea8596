module github.com/cxscore/cxscore/bench

go 1.26

replace github.com/cxscore/cxscore => ../
