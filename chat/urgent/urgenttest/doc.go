// Package urgenttest gives tests of code built on the urgent scheduler a
// clock that moves only when told to, so "the reminder is due" is an
// explicit step rather than a sleep.
package urgenttest
