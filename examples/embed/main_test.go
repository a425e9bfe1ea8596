package main

// Example runs the program, so that its output stays what the comments and
// the README say.
func Example() {
	main()
	// Output:
	// rejected: score out of range: nps score 11, want 0-10
	// * × *, 09:16 to 10:16: 4 customers
	//   NPS  +25 ± 58 (n=4)
	//   CSAT 100% (n=1)
	//   CES  6.0 (n=1)
	// enterprise × *, 09:16 to 10:16: 3 customers
	//   NPS  +33 ± 68 (n=3)
	//   CSAT 100% (n=1)
}
