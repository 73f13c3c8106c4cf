package awsapi

// AgeOf is an instance's age, for tests.
func (a *AWS) AgeOf(id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.age(id)
}
